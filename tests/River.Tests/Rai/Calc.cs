using System.Collections.Concurrent;

namespace River.Tests.RemoteObjects;

public sealed record Sum(string Label, long Total);

/// <summary>What the tests call remotely: every shape of method Rai carries.</summary>
public interface ICalc
{
    int Add(int a, int b);

    Task<int> AddAsync(int a, int b);

    ValueTask<long> TotalAsync();

    Task AccumulateAsync(long n);

    void Accumulate(long n);

    Sum Summary(string label);

    string WhereAmI();

    int Divide(int a, int b);

    Task<int> FailLaterAsync(string message);

    /// <summary>Never completes: a call under way while its object goes.</summary>
    Task HangAsync();

    /// <summary>Adds once <see cref="Calc.Open"/> opens <paramref name="gate"/>: a reply the caller holds back (embedded clusters only).</summary>
    Task<int> AddWhenOpenAsync(string gate, int a, int b);
}

public sealed class Calc : ICalc, IDisposable
{
    /// <summary>Tokens of the objects disposed in this process (the host disposes an object when it is released).</summary>
    public static readonly ConcurrentDictionary<string, bool> Disposed = new();

    private static readonly ConcurrentDictionary<string, TaskCompletionSource> Gates = new();

    private readonly string _token;
    private long _total;

    public Calc() : this("")
    {
    }

    public Calc(string token) => _token = token;

    public Calc(string token, long start) : this(token) => _total = start >= 0 ? start : throw new ArgumentOutOfRangeException(nameof(start), "a total starts at 0 or more");

    public int Add(int a, int b) => a + b;

    public async Task<int> AddAsync(int a, int b)
    {
        await Task.Yield();
        return a + b;
    }

    public ValueTask<long> TotalAsync() => ValueTask.FromResult(Interlocked.Read(ref _total));

    public async Task AccumulateAsync(long n)
    {
        await Task.Yield();
        Interlocked.Add(ref _total, n);
    }

    public void Accumulate(long n) => Interlocked.Add(ref _total, n);

    public Sum Summary(string label) => new(label, Interlocked.Read(ref _total));

    public string WhereAmI() => Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public int Divide(int a, int b) => a / b;

    public async Task<int> FailLaterAsync(string message)
    {
        await Task.Yield();
        throw new InvalidOperationException(message);
    }

    public Task HangAsync() => new TaskCompletionSource().Task;

    /// <summary>Lets the calls waiting at <paramref name="gate"/> go on.</summary>
    public static void Open(string gate) => Gate(gate).TrySetResult();

    public async Task<int> AddWhenOpenAsync(string gate, int a, int b)
    {
        await Gate(gate).Task;
        return a + b;
    }

    private static TaskCompletionSource Gate(string name) => Gates.GetOrAdd(name, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));

    public void Dispose() => Disposed[_token] = true;
}

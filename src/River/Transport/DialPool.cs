using System.Collections.Concurrent;

namespace River;

/// <summary>How a dial ended: <c>Closed</c> when nothing listens at the address (the OS refused the connection).</summary>
internal enum DialResult { Connected, Unreachable, Refused, Closed }

/// <summary>
/// Outbound dials: a few threads take dials from a bounded queue (a dial blocks in connect and the
/// handshake), one dial per address at a time. Whatever asks for dials, announcements included, costs
/// at most <see cref="Threads"/> threads; beyond <see cref="MaxQueued"/> waiting, a dial is not made.
/// </summary>
internal sealed class DialPool : IDisposable
{
    private const int Threads = 8, MaxQueued = 256;

    private readonly BlockingCollection<(string Key, Func<DialResult> Work, TaskCompletionSource<DialResult> Done)> _queue = new(MaxQueued);
    private readonly ConcurrentDictionary<string, Task<DialResult>> _inFlight = new();
    private readonly CancellationTokenSource _stop = new();

    public DialPool()
    {
        for (var i = 0; i < Threads; i++) new Thread(Run, 256 * 1024) { IsBackground = true, Name = "River dialer" }.Start();
    }

    /// <summary>Dials <paramref name="address"/> with <paramref name="work"/> unless a dial there is under way (then its result).</summary>
    public Task<DialResult> Dial(string address, Func<DialResult> work)
    {
        var done = new TaskCompletionSource<DialResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var existing = _inFlight.GetOrAdd(address, done.Task);
        if (existing != done.Task) return existing;
        if (_stop.IsCancellationRequested || !_queue.TryAdd((address, work, done)))
        {
            _inFlight.TryRemove(address, out _);
            return Task.FromResult(DialResult.Unreachable);
        }
        return done.Task;
    }

    private void Run()
    {
        try
        {
            foreach (var (key, work, done) in _queue.GetConsumingEnumerable(_stop.Token))
            {
                var result = DialResult.Unreachable;
                try
                {
                    result = work();
                }
                catch (Exception)
                {
                    // the work logs its own failures; a dialer thread outlives any one dial
                }
                finally
                {
                    _inFlight.TryRemove(key, out _);
                    done.TrySetResult(result);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    public void Dispose() => _stop.Cancel();
}

using System.Threading.Channels;

namespace River.Bench;

/// <summary>
/// Blocking reads from a channel that wait the way River's thread VRs do (ThreadWaiter): poll flat out
/// for <see cref="VirtualResource.SpinTime"/> (River's <c>SpinBudget</c>), then park on a
/// ManualResetEventSlim (spin count 100) that the writer sets inline. No WaitToReadAsync().AsTask().Wait():
/// that would add a Task and a thread-pool hop River does not pay.
/// </summary>
internal sealed class BlockingReader<T>
{
    public const string WaitMode = "spin-then-block";

    private readonly ChannelReader<T> _reader;
    private readonly ManualResetEventSlim _signal = new(false, spinCount: 100);
    private readonly Action _set;

    public BlockingReader(ChannelReader<T> reader)
    {
        _reader = reader;
        _set = _signal.Set;
    }

    /// <summary>A channel whose waiting reader is woken on the writer's thread, as River's Post does.</summary>
    public static Channel<T> NewChannel() => Channel.CreateUnbounded<T>(new UnboundedChannelOptions
    {
        SingleReader = true,
        SingleWriter = true,
        AllowSynchronousContinuations = true,
    });

    public T Read()
    {
        if (_reader.TryRead(out var item)) return item;
        var budget = SpinBudget.Start(VirtualResource.SpinTime);
        while (budget.Spin())
            if (_reader.TryRead(out item)) return item;
        while (true)
        {
            _signal.Reset();
            var ready = _reader.WaitToReadAsync();
            if (!ready.IsCompleted)
            {
                ready.GetAwaiter().UnsafeOnCompleted(_set);
                _signal.Wait();
            }
            if (!ready.GetAwaiter().GetResult()) throw new ChannelClosedException();
            if (_reader.TryRead(out item)) return item;
        }
    }
}

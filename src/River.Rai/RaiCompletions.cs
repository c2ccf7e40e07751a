using System.Collections.Concurrent;

namespace River;

/// <summary>
/// Completes one endpoint's calls off its loop, in batches: one thread-pool item (a drainer) runs the
/// continuations of every reply queued so far, one after another, where one item per reply set a sender
/// running on every core at once, all fighting over the same locks and queues (that, not the packets, was
/// most of a call's cost). A continuation that blocks must not hold up the replies queued behind it, since
/// it may wait for one of them: a blocking Rai call hands its drainer's place to a new one before it waits, and
/// a watchdog starts another drainer when queued replies made no progress for <see cref="Patience"/>, as the
/// thread pool adds threads when its items stall. So a call's continuation may block, as with one hop per reply
/// (one that stays blocked on something else keeps its place, so later replies wait for the watchdog).
/// </summary>
internal sealed class RaiCompletions : IThreadPoolWorkItem
{
    private static readonly TimeSpan Patience = TimeSpan.FromMilliseconds(10);

    [ThreadStatic]
    private static RaiCompletions? t_draining;

    [ThreadStatic]
    private static bool t_handedOff;

    private readonly ConcurrentQueue<(IRaiCall Call, object? Value, Exception? Error)> _queue = new();
    private readonly Timer _watchdog;
    private int _drainers; // running or queued
    private long _done;    // completions run, for the watchdog
    private long _doneAtTick;
    private int _armed;

    // A one-shot timer, armed only while replies wait: an idle endpoint's timer is not even scheduled.
    public RaiCompletions() => _watchdog = new Timer(static s => ((RaiCompletions)s!).Tick(), this, Timeout.Infinite, Timeout.Infinite);

    /// <summary>Queues <paramref name="call"/>'s completion with the value its host returned.</summary>
    public void Complete(IRaiCall call, object? value) => Enqueue((call, value, null));

    /// <summary>Queues <paramref name="call"/>'s failure.</summary>
    public void Fail(IRaiCall call, Exception error) => Enqueue((call, null, error));

    /// <summary>
    /// Called by a thread about to block on a call: when it is a drainer (a continuation run by one), another
    /// drainer takes over its queue, so the reply it waits for is not stuck behind it.
    /// </summary>
    public static void BeforeBlocking()
    {
        if (t_draining is not { } mine) return;
        // The new drainer takes this one's place in the count; this one leaves when its continuation returns.
        (t_draining, t_handedOff) = (null, true);
        ThreadPool.UnsafeQueueUserWorkItem(mine, preferLocal: false);
    }

    private void Enqueue((IRaiCall, object?, Exception?) item)
    {
        _queue.Enqueue(item); // a full fence: a drainer or watchdog that just stood down sees the item, or it is seen below
        // Plain reads first: with replies streaming in, a drainer runs and the watchdog is armed, and these would be
        // two locked instructions per reply on lines the drainer and the timer write.
        if (Volatile.Read(ref _drainers) == 0 && Interlocked.CompareExchange(ref _drainers, 1, 0) == 0) ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        if (Volatile.Read(ref _armed) == 0 && Interlocked.Exchange(ref _armed, 1) == 0) _watchdog.Change(Patience, Timeout.InfiniteTimeSpan);
    }

    private void StartDrainer()
    {
        Interlocked.Increment(ref _drainers);
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    /// <summary>A drainer: completes what is queued, and goes on while more comes and no other drainer runs.</summary>
    public void Execute()
    {
        while (true)
        {
            while (_queue.TryDequeue(out var item))
            {
                t_draining = this;
                if (item.Error is null) item.Call.Complete(item.Value);
                else item.Call.Fail(item.Error);
                Interlocked.Increment(ref _done);
                if (t_handedOff)
                {
                    (t_draining, t_handedOff) = (null, false);
                    return;
                }
            }
            t_draining = null;
            // Leave, unless a reply came after the queue looked empty and its sender saw this drainer still counted.
            if (Interlocked.Decrement(ref _drainers) > 0 || _queue.IsEmpty || Interlocked.CompareExchange(ref _drainers, 1, 0) != 0) return;
        }
    }

    private void Tick()
    {
        var done = Interlocked.Read(ref _done);
        if (_queue.IsEmpty)
        {
            Interlocked.Exchange(ref _armed, 0); // a full fence: the look below must come after it
            // A reply queued between the look and the reset saw the watchdog armed: look again.
            if (_queue.IsEmpty || Interlocked.Exchange(ref _armed, 1) != 0) return;
        }
        else if (done == _doneAtTick)
        {
            StartDrainer(); // every drainer is blocked in a continuation, or the pool is starved: add one
        }
        _doneAtTick = done;
        _watchdog.Change(Patience, Timeout.InfiniteTimeSpan);
    }
}

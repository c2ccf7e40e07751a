namespace River;

/// <summary>
/// Runs a piece of work on the thread pool once per burst of requests: a request while it runs makes it run once
/// more, never twice at a time. Mirror groups send their log, acks and replies this way, so a burst of packets
/// leaves in a few messages and messages to one VM stay in order. With <paramref name="delayMs"/>, a request runs the
/// work that much later, so the requests of that time share one run (for work nobody waits on).
/// </summary>
internal sealed class Coalescer(Action work, Action<Exception> failed, int delayMs = 0)
{
    private int _state; // 0 idle, 1 running, 2 asked again
    private Timer? _timer; // made by the first delayed request: only the request that finds the work idle gets here

    public void Request()
    {
        if (Interlocked.Exchange(ref _state, 2) != 0) return;
        if (delayMs == 0) ThreadPool.UnsafeQueueUserWorkItem(static c => c.Run(), this, preferLocal: false);
        else (_timer ??= new Timer(static c => ((Coalescer)c!).Run(), this, Timeout.Infinite, Timeout.Infinite)).Change(delayMs, Timeout.Infinite);
    }

    /// <summary>Like <see cref="Request"/>, but runs the work on this thread when it is idle (the caller holds no lock the work takes).</summary>
    public void RequestHere()
    {
        if (Interlocked.Exchange(ref _state, 2) == 0) Run();
    }

    private void Run()
    {
        do
        {
            Volatile.Write(ref _state, 1);
            try
            {
                work();
            }
            catch (Exception e)
            {
                failed(e); // a VM that left under it, a message that cannot be written: logged, the group goes on
            }
        }
        while (Interlocked.CompareExchange(ref _state, 0, 1) != 1);
    }
}

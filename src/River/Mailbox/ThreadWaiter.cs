namespace River;

/// <summary>Parks a VR's own thread until a packet it wants arrives. One per thread VR, reused.</summary>
internal sealed class ThreadWaiter : IPacketWaiter
{
    private readonly ManualResetEventSlim _signal = new(false, spinCount: 100);
    private Exception? _error;

    public void Wake() => _signal.Set();

    // A late wake only makes the next park look once more: nothing to wait for.
    public void AbsorbWake()
    {
    }

    public void Fail(Exception error)
    {
        _error = error;
        _signal.Set();
    }

    /// <summary>Receives from <paramref name="mailbox"/>: poll for <paramref name="spin"/>, then park until woken.</summary>
    public Packet Receive(Mailbox mailbox, Matcher match, TimeSpan? timeout, TimeSpan spin)
    {
        if (mailbox.TryTake(match, out var p)) return p;
        Corking.Flush(); // about to wait: what this VR sent must leave now
        var budget = SpinBudget.Start(timeout is { } limit && limit < spin ? limit : spin);
        while (budget.Spin())
        {
            if (!mailbox.HasArrivals) ReplyPolling.Poll();
            if (mailbox.HasArrivals && mailbox.TryTake(match, out p)) return p;
        }
        ReplyPolling.Stop();
        var deadline = timeout is { } t ? Environment.TickCount64 + (long)t.TotalMilliseconds : long.MaxValue;
        while (true)
        {
            _signal.Reset();
            var taken = mailbox.TakeOrPark(match, this);
            if (taken is not null) return taken;
            var left = deadline == long.MaxValue ? Timeout.Infinite : (int)Math.Max(0, deadline - Environment.TickCount64);
            if (!_signal.Wait(left))
            {
                if (mailbox.Unpark(this))
                {
                    // One last look: a packet the match wants may have come just now without a wake yet.
                    if (mailbox.TryTake(match, out p)) return p;
                    throw new TimeoutException($"No matching packet arrived within {timeout}.");
                }
                _signal.Wait(); // a wake is on its way
            }
            if (_error is { } error) throw error;
        }
    }
}

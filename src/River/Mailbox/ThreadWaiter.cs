namespace River;

/// <summary>Parks a VR's own thread until a packet it wants arrives. One per thread VR, reused.</summary>
internal sealed class ThreadWaiter : IPacketWaiter
{
    private readonly ManualResetEventSlim _signal = new(false, spinCount: 100);
    private Exception? _error;

    public void Wake() => _signal.Set();

    // A late wake lands in a later receive's park, which then wakes early: it unparks and looks again (see Receive).
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
            // Woken, but by the late wake of an earlier receive, whose packet it took while parking: still parked, so
            // unpark before looking again (a packet that comes meanwhile is queued before its sender reads the flag).
            else mailbox.Unpark(this);
            if (_error is { } error) throw error;
        }
    }
}

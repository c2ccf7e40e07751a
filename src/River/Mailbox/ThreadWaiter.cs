namespace River;

/// <summary>Parks a VR's own thread until a packet is handed over. One per thread VR, reused.</summary>
internal sealed class ThreadWaiter : IPacketWaiter
{
    private readonly ManualResetEventSlim _signal = new(false, spinCount: 100);
    private Packet? _packet;
    private Exception? _error;

    public void Complete(Packet packet)
    {
        _packet = packet;
        _signal.Set();
    }

    public void Fail(Exception error)
    {
        _error = error;
        _signal.Set();
    }

    /// <summary>Receives from <paramref name="mailbox"/>: poll for <paramref name="spin"/>, then park.</summary>
    public Packet Receive(Mailbox mailbox, Matcher match, TimeSpan? timeout, TimeSpan spin)
    {
        if (mailbox.TryTake(match, out var p)) return p;
        var seen = Volatile.Read(ref mailbox.Version);
        var budget = SpinBudget.Start(spin < (timeout ?? spin) ? spin : timeout ?? spin);
        while (budget.Spin())
        {
            var now = Volatile.Read(ref mailbox.Version);
            if (now == seen) continue;
            if (mailbox.TryTake(match, out p)) return p;
            seen = now;
        }
        _signal.Reset();
        _packet = null;
        _error = null;
        var taken = mailbox.TakeOrPark(match, this);
        if (taken is not null) return taken;
        if (!_signal.Wait(timeout ?? Timeout.InfiniteTimeSpan))
        {
            if (mailbox.Unpark(this))
                throw new TimeoutException($"No matching packet arrived within {timeout}.");
            _signal.Wait(); // a packet was handed over just as the timeout fired
        }
        return _packet ?? throw _error!;
    }
}

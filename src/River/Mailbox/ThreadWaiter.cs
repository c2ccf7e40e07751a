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

    /// <summary>Receives from <paramref name="mailbox"/>: spin briefly, then park; waking a parked thread costs tens of µs.</summary>
    public Packet Receive(Mailbox mailbox, Matcher match, TimeSpan? timeout, int spinIterations)
    {
        if (mailbox.TryTake(match, out var p)) return p;
        var seen = Volatile.Read(ref mailbox.Version);
        var spinner = new SpinWait();
        for (var i = 0; i < spinIterations; i++)
        {
            var now = Volatile.Read(ref mailbox.Version);
            if (now != seen)
            {
                if (mailbox.TryTake(match, out p)) return p;
                seen = now;
            }
            spinner.SpinOnce(sleep1Threshold: -1);
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

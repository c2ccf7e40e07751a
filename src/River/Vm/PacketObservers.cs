namespace River;

/// <summary>The observers registered on a VM; a copy-on-write array so the hot path takes no lock.</summary>
internal sealed class PacketObservers
{
    private IPacketObserver[] _all = [];

    public void Add(IPacketObserver observer) => ImmutableInterlocked(observer);

    /// <summary>True once any observer was added: every packet must then exist as an object to be shown to it.</summary>
    public bool Any => _all.Length > 0;

    public void Sent(Packet packet)
    {
        foreach (var o in _all) o.Sent(packet);
    }

    public void Delivered(Packet packet)
    {
        foreach (var o in _all) o.Delivered(packet);
    }

    private void ImmutableInterlocked(IPacketObserver observer)
    {
        IPacketObserver[] seen, next;
        do
        {
            seen = _all;
            next = [.. seen, observer];
        }
        while (Interlocked.CompareExchange(ref _all, next, seen) != seen);
    }
}

namespace River.Tests;

/// <summary>
/// Holds the thread that delivers (or, with <paramref name="sent"/>, sends) the first packet that matches on one VM
/// until released: that VM's inbox or link reader, or the sending VR, waits.
/// </summary>
internal sealed class HoldPacket(Func<Packet, bool> match, bool sent = false) : IPacketObserver
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    public readonly ManualResetEventSlim Holding = new(), Release = new();
    private int _held;

    /// <summary>Watches <paramref name="vm"/>'s deliveries (or sends), does <paramref name="send"/>, and returns once one that matches is held there.</summary>
    public static HoldPacket On(RiverVm vm, Func<Packet, bool> match, Action send, bool sent = false)
    {
        var hold = new HoldPacket(match, sent);
        vm.AddPacketObserver(hold);
        send();
        Assert.True(hold.Holding.Wait(Bound));
        return hold;
    }

    public void Sent(Packet packet)
    {
        if (sent) HoldIfFirst(packet);
    }

    public void Delivered(Packet packet)
    {
        if (!sent) HoldIfFirst(packet);
    }

    private void HoldIfFirst(Packet packet)
    {
        if (!match(packet) || Interlocked.Exchange(ref _held, 1) == 1) return;
        Holding.Set();
        Release.Wait(Bound);
    }
}

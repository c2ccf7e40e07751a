namespace River;

/// <summary>A receiver parked on a mailbox; completed outside the mailbox lock.</summary>
internal interface IPacketWaiter
{
    void Complete(Packet packet);
}

namespace River;

/// <summary>A receiver parked on a mailbox; completed outside the mailbox lock.</summary>
internal interface IPacketWaiter
{
    void Complete(Packet packet);

    /// <summary>The mailbox closed (the VR ended or its VM stopped) while the receiver waited.</summary>
    void Fail(Exception error);
}

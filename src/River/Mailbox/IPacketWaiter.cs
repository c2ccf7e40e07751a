namespace River;

/// <summary>A receiver parked on a mailbox.</summary>
internal interface IPacketWaiter
{
    /// <summary>A packet the receiver wants has arrived: it should look again. Called once per park.</summary>
    void Wake();

    /// <summary>The receiver found its packet itself, but a sender already claimed the wake: wait for it to land.</summary>
    void AbsorbWake();

    /// <summary>The mailbox closed (the VR ended or its VM stopped) while the receiver waited.</summary>
    void Fail(Exception error);
}

namespace River;

/// <summary>
/// What an extension of the runtime (checkpointing) may do to packets and VRs at four points: a packet a
/// local VR sends, one whose receiver's VM is gone, a packet about to be queued for a local VR, and a VR about to start. Set on
/// <see cref="RiverVm.Hooks"/>; called on the sending, delivering and starting threads, so keep them quick.
/// </summary>
internal interface IRuntimeHooks
{
    /// <summary>The packet to send instead of <paramref name="packet"/> (throw to refuse the send).</summary>
    Packet Sending(Packet packet);

    /// <summary>
    /// A sent packet's receiver is on VM <paramref name="gone"/>, which is gone: true when the extension keeps the packet
    /// and delivers it where the receiver starts again (the send returns); false to throw <see cref="VmGoneException"/>.
    /// </summary>
    bool Keeps(Packet packet, VmId gone);

    /// <summary>Queues <paramref name="packet"/> for <paramref name="to"/>, holds or drops it; false when the VR has ended.</summary>
    bool Post(VrContext to, Packet packet);

    /// <summary>Prepares a VR before its body runs; a returned task that has not completed holds the start until it does.</summary>
    Task? Starting(VrContext vr);
}

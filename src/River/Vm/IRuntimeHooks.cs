namespace River;

/// <summary>
/// What an extension of the runtime (checkpointing) may do to packets and VRs at three points: a packet a
/// local VR sends, a packet about to be queued for a local VR, and a VR about to start. Set on
/// <see cref="RiverVm.Hooks"/>; called on the sending, delivering and starting threads, so keep them quick.
/// </summary>
internal interface IRuntimeHooks
{
    /// <summary>The packet to send instead of <paramref name="packet"/> (throw to refuse the send).</summary>
    Packet Sending(Packet packet);

    /// <summary>Queues <paramref name="packet"/> for <paramref name="to"/>, holds or drops it; false when the VR has ended.</summary>
    bool Post(VrContext to, Packet packet);

    /// <summary>Prepares a VR before its body runs; a returned task that has not completed holds the start until it does.</summary>
    Task? Starting(VrContext vr);
}

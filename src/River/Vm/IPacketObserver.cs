namespace River;

/// <summary>
/// Sees every packet at the one point where a VM sends it and the one point where it delivers it to
/// a local queue: the hook for logging, checkpointing and mirroring. Called on the sending or
/// delivering thread; keep it quick.
/// </summary>
public interface IPacketObserver
{
    /// <summary>A VR on this VM sent <paramref name="packet"/>.</summary>
    void Sent(Packet packet);

    /// <summary><paramref name="packet"/> is being put in the queue of a VR on this VM.</summary>
    void Delivered(Packet packet);
}

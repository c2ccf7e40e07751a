namespace River;

// Control messages of mirror groups (see Mirrors). Serialized like values (type-tagged, allow-listed).

/// <summary>A control message of mirroring: the VM hands it to <see cref="Mirrors.OnControl"/>.</summary>
internal interface IMirrorMessage;

/// <summary>A message between the replicas of mirrored VR <see cref="Vr"/>: the receiving VM's <see cref="MirrorGroup"/> of it handles it.</summary>
internal interface IReplicaMessage : IMirrorMessage
{
    VrId Vr { get; }

    /// <summary>Hands the message to <paramref name="group"/>'s handler for its kind (from the replica on VM <paramref name="from"/>).</summary>
    void Handle(MirrorGroup group, VmId from);
}

/// <summary>
/// Who runs mirrored VR <paramref name="Vr"/>: the VMs of its live replicas in order of succession (the first is
/// the primary). Only a primary publishes a view; a higher <paramref name="Epoch"/> replaces a lower one.
/// </summary>
internal sealed record MirrorView(VrId Vr, VmId[] Vms, long Epoch) : IMirrorMessage;

/// <summary>
/// An entry of a mirror group's ordered log that is not a packet: the outcome of a call that depends on timing, the
/// log position of the packet a <c>TryRecv</c>, <c>Peek</c> or timed <c>Recv</c> returned (<paramref name="Taken"/>,
/// 0 for none), or what <c>Discover</c> found (<paramref name="Found"/>).
/// </summary>
internal sealed record MirrorEntry(long Taken = 0, VmInfo[]? Found = null);

/// <summary>
/// Log entries <paramref name="First"/>.. from the primary (<see cref="LogWire"/>: packets' frames and outcomes); entries
/// up to <paramref name="Stable"/> are held by every replica.
/// </summary>
internal sealed record MirrorLog(VrId Vr, long Epoch, long First, byte[] Entries, long Stable) : IReplicaMessage
{
    public void Handle(MirrorGroup group, VmId from) => group.OnLog(from, this);
}

/// <summary>A mirror holds the log up to <paramref name="Upto"/>.</summary>
internal sealed record MirrorLogAck(VrId Vr, long Epoch, long Upto) : IReplicaMessage
{
    public void Handle(MirrorGroup group, VmId from) => group.OnLogAck(from, this);
}

/// <summary>From a primary to a sending VM: the streams (src[i] → <paramref name="Vr"/>) are replicated up to seqs[i]; their copies may go.</summary>
internal sealed record MirrorAck(VrId Vr, VrId[] Srcs, long[] Seqs) : IMirrorMessage;

/// <summary>From a receiving VM to a mirror: the streams <paramref name="Vr"/> → dests[i] were delivered up to seqs[i]; the copies the mirror holds may go.</summary>
internal sealed record MirrorDelivered(VrId Vr, VrId[] Dests, long[] Seqs) : IMirrorMessage;

/// <summary>A replica taking over after the primary was lost asks the others for the log entries after <paramref name="After"/>.</summary>
internal sealed record MirrorTailRequest(VrId Vr, long Epoch, long After) : IReplicaMessage
{
    public void Handle(MirrorGroup group, VmId from) => group.OnTailRequest(from, this);
}

/// <summary>The answer to a <see cref="MirrorTailRequest"/>: entries <paramref name="First"/>.. of the answering replica's log.</summary>
internal sealed record MirrorTail(VrId Vr, long Epoch, long First, byte[] Entries) : IReplicaMessage
{
    public void Handle(MirrorGroup group, VmId from) => group.OnTail(from, this);
}

/// <summary>To a primary: start a replica of <paramref name="Vr"/> on VM <paramref name="Vm"/>, brought up to date by replaying the log.</summary>
internal sealed record MirrorAddRequest(long RequestId, VrId Vr, VmId Vm) : IMirrorMessage;

/// <summary>The new replica started (no error), or why not.</summary>
internal sealed record MirrorAddReply(long RequestId, string? Error) : IMirrorMessage;

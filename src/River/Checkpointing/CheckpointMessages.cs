namespace River;

// What VMs tell each other about a run they checkpoint. Sent as control messages (type-tagged,
// allow-listed); the run's home VM (the initiator's) coordinates.

/// <summary>A control message of the checkpoint mechanism; the VM hands it to its <see cref="CheckpointAgent"/>.</summary>
internal interface ICheckpointMessage;

/// <summary>What a VM needs to start a VR again: its id, class, family and arguments (as bytes until the class is loaded).</summary>
internal sealed record VrIdentity(VrId Id, string Type, VrId? Parent, string[] Args, byte[] DeployArgs);

/// <summary>A count of packets between two VRs: the highest sequence number sent or queued.</summary>
internal sealed record SeqCount(VrId Peer, long Seq);

/// <summary>A packet a VR sent, kept until every receiver holds it in a complete round: the channel state.</summary>
internal sealed record LoggedPacket(VrId Dest, long Seq, byte[] Frame);

/// <summary>The VRs one <c>Deploy</c> call of <paramref name="Parent"/> (its <paramref name="Call"/>-th) started, in order.</summary>
internal sealed record DeployRecord(VrId Parent, int Call, VrId[] Vrs) : ICheckpointMessage;

/// <summary>Where a VR runs (after a recovery).</summary>
internal sealed record VrLocation(VrId Vr, VmId Vm);

/// <summary>Home → every VM: VRs of <paramref name="Run"/> number their packets; answered with an <see cref="CheckpointAck"/>.</summary>
/// <paramref name="Store"/> and <paramref name="StoreToken"/>: the run's checkpoint directory, and what its mark file holds (a VM that reads it
/// there writes its VRs' parts itself).
internal sealed record RunCheckpointed(Guid Run, VmId Home, VrId Initiator, string Store, Guid StoreToken, long Request) : ICheckpointMessage;

/// <summary>The answer to a request of the home VM: done.</summary>
internal sealed record CheckpointAck(long Request) : ICheckpointMessage;

/// <summary>
/// Home → every VM: the run's initiator ended; ack once this VM's parts under way are stored and their news sent home
/// (before the ack, on the same link), so the home counts them before it stops.
/// </summary>
internal sealed record RunEnding(Guid Run, long Request) : ICheckpointMessage;

/// <summary>A VM → home: a VR of the run deployed VRs (so a restarted initiator's same deploy gets them back).</summary>
internal sealed record Deployed(Guid Run, DeployRecord Record) : ICheckpointMessage;

/// <summary>A VM → home: a VR of the run started there.</summary>
internal sealed record VrJoined(Guid Run, VrIdentity Vr, VmId At) : ICheckpointMessage;

/// <summary>
/// A VM → home: one VR's part of a round, taken in recovery epoch <paramref name="Epoch"/>: <paramref name="File"/> is
/// the file to store, sealed (<see cref="CheckpointFile"/>) around a <see cref="PartPayload"/>.
/// </summary>
internal sealed record PartTaken(Guid Run, int Epoch, VrId Vr, int Number, ReadOnlyMemory<byte> File) : ICheckpointMessage;

/// <summary>
/// A VM → home: it wrote one VR's part of a round to the store itself (<paramref name="Size"/> bytes, durable), taken in
/// recovery epoch <paramref name="Epoch"/> at <paramref name="Time"/> (UTC ticks); what the home needs of the part to count it.
/// </summary>
internal sealed record PartStored(Guid Run, int Epoch, VrIdentity Vr, int Number, bool Ended, SeqCount[] Received, long Size, long Time) : ICheckpointMessage;

/// <summary>
/// Home → every VM: round <paramref name="Round"/> is durable. Logged packets its receivers hold
/// (<paramref name="Received"/>: per receiver, the highest sequence from each sender) are dropped.
/// </summary>
internal sealed record RoundDone(Guid Run, int Round, VrId[] Participants, VrId[] Ended, ReceivedBy[] Received) : ICheckpointMessage;

/// <summary>The highest sequence number <paramref name="Receiver"/> had queued from each sender at its checkpoint.</summary>
internal sealed record ReceivedBy(VrId Receiver, SeqCount[] From);

/// <summary>Home → every VM: end these VRs of the run (those here), for they restart from the round; ack once they ended.</summary>
internal sealed record RollBack(Guid Run, long Request, VrId[] Vrs) : ICheckpointMessage;

/// <summary>Home → a VM: the next start of VR <paramref name="Vr"/> here takes this part (null: from the beginning) and waits for <see cref="Resume"/>.</summary>
internal sealed record Prepare(Guid Run, long Request, VrId Vr, byte[]? Part) : ICheckpointMessage;

/// <summary>Packets to queue again for VRs on the receiving VM (channel state; duplicates are dropped by sequence).</summary>
internal sealed record Replay(Guid Run, byte[][] Frames) : ICheckpointMessage;

/// <summary>
/// Home → every VM: the recovery from the loss of <paramref name="Gone"/> is done; parts of earlier epochs are stale.
/// Where the run's VRs are now; replay what was sent to the restarted ones and let them run.
/// </summary>
internal sealed record Resume(Guid Run, long Request, int Epoch, VmId[] Gone, VrLocation[] Locations, VrId[] Restarted) : ICheckpointMessage;

/// <summary>Control message types of the checkpoint mechanism that a frame may carry (see <see cref="TypeAllowList"/>).</summary>
internal static class CheckpointWire
{
    public static readonly Type[] Types =
    [
        typeof(VrIdentity), typeof(SeqCount), typeof(DeployRecord), typeof(LoggedPacket), typeof(VrLocation), typeof(RunCheckpointed), typeof(CheckpointAck), typeof(RunEnding),
        typeof(VrJoined), typeof(Deployed), typeof(PartTaken), typeof(PartStored), typeof(RoundDone), typeof(ReceivedBy), typeof(RollBack), typeof(Prepare), typeof(Replay),
        typeof(Resume), typeof(VrPart), typeof(RoundManifest),
    ];
}

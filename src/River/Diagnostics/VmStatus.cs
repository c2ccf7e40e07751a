namespace River;

/// <summary>
/// One VM's state at a moment, as <c>river status</c> and <c>river dashboard</c> show it: its description, its VRs
/// with their queues, its links with their counters, the members it knows and its recent failures.
/// Read it locally with <see cref="RiverVm.Status"/>, or from a tool with <see cref="ClusterStatus"/>.
/// </summary>
/// <param name="Vm">The VM (attributes include <see cref="VmInfo.Load"/> and <see cref="VmInfo.Vrs"/>).</param>
/// <param name="Vrs">The VRs running on it.</param>
/// <param name="Links">Its links to other VMs (none for an embedded VM).</param>
/// <param name="PacketsIn">Packets received from other VMs.</param>
/// <param name="PacketsOut">Packets sent to other VMs.</param>
/// <param name="Undeliverable">Packets that reached no VR.</param>
/// <param name="Members">The other VMs it knows.</param>
/// <param name="Failures">Its most recent failures, oldest first (at most <see cref="MaxFailures"/>).</param>
public sealed record VmStatus(
    VmInfo Vm,
    IReadOnlyList<VrStatus> Vrs,
    IReadOnlyList<LinkStatus> Links,
    long PacketsIn,
    long PacketsOut,
    long Undeliverable,
    IReadOnlyList<VmInfo> Members,
    IReadOnlyList<FailureReport> Failures)
{
    /// <summary>How many failures a VM remembers.</summary>
    public const int MaxFailures = 32;
}

/// <summary>A VR as <see cref="VmStatus"/> shows it.</summary>
/// <param name="Id">The VR.</param>
/// <param name="Type">Its class's full name.</param>
/// <param name="Parent">The VR that deployed it.</param>
/// <param name="Queued">Packets waiting in its queue.</param>
public sealed record VrStatus(VrId Id, string Type, VrId? Parent, int Queued);

/// <summary>A link to another VM as <see cref="VmStatus"/> shows it; the counters only grow, so two readings give rates.</summary>
/// <param name="Peer">The VM at the other end.</param>
/// <param name="State"><c>connected</c>, <c>suspected</c> (silent past the failure timeout) or <c>down</c> (no connection).</param>
/// <param name="FramesSent">Packet and control frames sent on the link.</param>
/// <param name="FramesReceived">Packet and control frames received on it.</param>
/// <param name="BytesSent">Bytes of those frames sent.</param>
/// <param name="BytesReceived">Bytes of those frames received.</param>
/// <param name="TotalBytesSent">
/// Bytes of every frame sent on the link, each with its 4-byte length: packets and control messages, and the link's own
/// heartbeats, acknowledgements and resumes, which keep an idle link alive (an idle cluster's membership traffic). The
/// record layer adds 36 bytes per record (TLS its own), TCP/IP its headers.
/// </param>
/// <param name="TotalBytesReceived">Bytes of every frame received on the link, counted as <paramref name="TotalBytesSent"/> counts them.</param>
public sealed record LinkStatus(
    VmId Peer, string State, long FramesSent, long FramesReceived, long BytesSent, long BytesReceived, long TotalBytesSent, long TotalBytesReceived);

/// <summary>What failed (<see cref="FailureReport"/>).</summary>
public enum FailureKind
{
    /// <summary>A VR ended with an error.</summary>
    VrFailed,

    /// <summary>A VM fell silent past the failure timeout; it may come back within the grace period.</summary>
    VmSuspected,

    /// <summary>A VM was declared gone (silent past the grace period, or its process gone).</summary>
    VmLost,
}

/// <summary>A failure a VM saw.</summary>
/// <param name="Time">When it saw it.</param>
/// <param name="Kind">What failed.</param>
/// <param name="Subject">The id of the VR or VM that failed.</param>
/// <param name="Detail">The error or the reason, in one line.</param>
public sealed record FailureReport(DateTimeOffset Time, FailureKind Kind, string Subject, string Detail);

namespace River;

// What VMs tell each other for monitors (see Monitors). Serialized like control messages.

/// <summary>
/// "Tell <c>Watcher</c> (on the sender's VM) when <c>Target</c> ends"; answered with <see cref="MonitorAnswer"/>.
/// <c>Link</c>: one half of a link; the VM that runs the target places the other half.
/// </summary>
internal sealed record MonitorRequest(long Ref, VrId Target, VrId Watcher, bool Link = false);

/// <summary>Whether the VM asked runs (or recently ran) the target: only the one that does watches it.</summary>
internal sealed record MonitorAnswer(long Ref, bool Found);

/// <summary>The watch of <c>Ref</c> is withdrawn (<c>Demonitor</c>).</summary>
internal sealed record DemonitorRequest(long Ref, VrId Target);

/// <summary>The target of watch <c>Ref</c> ended: the watcher's VM turns it into a <c>river.down</c> packet.</summary>
internal sealed record Down(long Ref, VrId Target, string Reason, string? Error);

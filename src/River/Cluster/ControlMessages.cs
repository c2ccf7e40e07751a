namespace River;

// Messages VMs exchange besides packets. Serialized like values (type-tagged, allow-listed).

/// <summary>
/// A VM's current description; sent on joining and whenever its attributes change. <paramref name="Introduced"/>: the
/// sender already has the member lists of two VMs, which told the others of it, so a VM it links to now need not.
/// </summary>
internal sealed record Announce(VmInfo Info, bool Introduced = false);

/// <summary>
/// Start a VR. Its arguments stay bytes until the VR's assembly is allowed, so they may be of the program's types.
/// <paramref name="ParentVm"/>: the VM its parent runs on when that is not the deploying VM (a replica <c>AddMirror</c>
/// asks a mirrored VR's primary to start); null when it is.
/// </summary>
internal sealed record DeployRequest(long RequestId, VrId Id, string TypeName, VrId? Parent, string[] Args, byte[] DeployArgs, Guid Run, CodeRef[] Code, VmId? ParentVm = null);

/// <summary>Started (no error), refused (error), or waiting for the shipped code it lists as missing.</summary>
internal sealed record DeployReply(long RequestId, string? Error, string[]? MissingCode = null);

/// <summary>An assembly's bytes, shipped to a VM that lacks them.</summary>
internal sealed record CodeUpload(string Hash, byte[] Bytes);

/// <summary>"Does a VR of this id run on you?": how a VM finds a VR it has not heard of yet.</summary>
internal sealed record Lookup(VrId Id);

internal sealed record LookupReply(VrId Id, bool Found);

/// <summary>The sender is stopping; forget it.</summary>
internal sealed record Goodbye(VmId Id);

/// <summary>Members the sender knows; the receiver connects to those it does not (gossip to a full mesh).</summary>
internal sealed record Members(VmInfo[] Vms);

/// <summary>Asks a VM for its state (<c>river status</c>); answered with a <see cref="StatusReply"/>.</summary>
internal sealed record StatusRequest;

internal sealed record StatusReply(VmStatus Status);

/// <summary>Ends a VR (<c>river kill</c>): its queue closes, so its next receive throws, and an async VR's token fires.</summary>
internal sealed record KillRequest(VrId Id);

internal sealed record KillReply(VrId Id, bool Found);

/// <summary>
/// Flow control: the sender's VR <paramref name="Vr"/> took this many bytes and packets of the receiver's
/// frames out of its queue, so the receiver may send that much more to it; <paramref name="Ended"/>: the VR
/// ended or never ran here, so the receiver never waits for it again.
/// </summary>
internal sealed record Credit(VrId Vr, long Bytes, long Packets, bool Ended = false);

namespace River;

/// <summary>"Unlink <c>Vr</c> from <c>Linker</c>": the half of a link kept on the VM that runs <c>Vr</c> is withdrawn.</summary>
internal sealed record UnlinkRequest(VrId Vr, VrId Linker);

namespace River;

/// <summary>
/// A VR linked to this one (<see cref="VirtualResourceBase.Link"/>) failed, was lost with its VM, or did not
/// exist; thrown at this VR's next River call (a <c>Recv</c> waiting at that moment wakes and throws it).
/// Left uncaught, it ends this VR as failed, so the VRs linked to it learn of it in turn, as in Erlang.
/// A VR that sets <see cref="VirtualResourceBase.TrapExits"/> gets a <c>river.exit</c> packet instead.
/// </summary>
/// <example><code>
/// try { var p = Recv(new { tag = "work" }); }
/// catch (LinkedVrFailedException e) when (e.Reason == "lost") { /* its VM died: start another */ }
/// </code></example>
public sealed class LinkedVrFailedException : Exception
{
    /// <summary>Creates the exception for linked VR <paramref name="vr"/> that ended with <paramref name="reason"/>.</summary>
    public LinkedVrFailedException(VrId vr, string reason, string? error)
        : base(Describe(vr, reason, error))
    {
        Vr = vr;
        Reason = reason;
        Error = error;
    }

    /// <summary>The linked VR that ended.</summary>
    public VrId Vr { get; }

    /// <summary>Why: <c>"failed"</c>, <c>"lost"</c> or <c>"noproc"</c>, as a <c>river.down</c> packet says.</summary>
    public string Reason { get; }

    /// <summary>For <c>"failed"</c>, its error as <c>"Full.Type.Name: message"</c>; otherwise null.</summary>
    public string? Error { get; }

    private static string Describe(VrId vr, string reason, string? error) => reason switch
    {
        Monitors.Failed => $"Linked VR {vr} failed: {error}",
        Monitors.Lost => $"Linked VR {vr} was lost: its VM is suspected or gone",
        Monitors.NoProc => $"Linked VR {vr} does not exist (noproc)",
        _ => $"Linked VR {vr} ended: {reason}{(error is null ? "" : $": {error}")}",
    };
}

namespace River;

/// <summary>
/// A send to a VR whose VM is gone: it was declared gone (silent past the grace period) or said goodbye.
/// Names the VR and the VM; packets already on their way are reported to their senders with a
/// <c>river.undeliverable</c> packet (see <see cref="RiverVm.UndeliverableTag"/>).
/// </summary>
/// <example><code>
/// try { Send(worker, new { tag = "job", n }); }
/// catch (VmGoneException e) { worker = Deploy&lt;Worker&gt;(Discover()[0]); }   // start it again elsewhere
/// </code></example>
public sealed class VmGoneException(VrId vr, VmId vm, string reason)
    : Exception($"VR {vr} cannot be reached: its VM {vm} is gone ({reason}).")
{
    /// <summary>The VR the packet was for.</summary>
    public VrId Vr { get; } = vr;

    /// <summary>The VM it ran on.</summary>
    public VmId Vm { get; } = vm;
}

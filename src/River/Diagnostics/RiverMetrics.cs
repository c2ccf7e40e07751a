using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace River;

/// <summary>
/// River's instruments (<see cref="System.Diagnostics.Metrics"/>) and its <see cref="ActivitySource"/>: the core
/// only emits, as .NET libraries do; an app or <c>river vm --metrics-port</c> chooses the exporter
/// (OpenTelemetry: <c>AddMeter(RiverMetrics.MeterName)</c>). Every measurement carries the VM's id (<c>vm</c>),
/// since one process can host several VMs; per-link ones also the remote VM's (<c>peer</c>).
/// Most instruments are observable: they read counters the runtime keeps anyway, so the hot paths pay nothing
/// for them.
/// </summary>
/// <example><code>
/// using var metrics = Sdk.CreateMeterProviderBuilder().AddMeter(RiverMetrics.MeterName).AddPrometheusHttpListener().Build();
/// </code></example>
public static class RiverMetrics
{
    /// <summary>The name of River's <see cref="Meter"/>.</summary>
    public const string MeterName = "River";

    /// <summary>The name of River's <see cref="ActivitySource"/> (spans for deploys).</summary>
    public const string ActivitySourceName = "River";

    private static readonly ConcurrentDictionary<RiverVm, byte> Vms = new();
    private static readonly Meter Meter = new(MeterName, typeof(RiverMetrics).Assembly.GetName().Version?.ToString());

    internal static readonly ActivitySource Activities = new(ActivitySourceName, typeof(RiverMetrics).Assembly.GetName().Version?.ToString());

    private static readonly Counter<long> DeploysCounter = Meter.CreateCounter<long>("river.deploys", "{vr}", "VRs deployed onto this VM at another VR's request.");
    private static readonly Counter<long> FailoversCounter = Meter.CreateCounter<long>("river.failovers", "{failover}", "Mirrored VRs whose primary moved to this VM.");
    private static readonly Counter<long> CheckpointRoundsCounter = Meter.CreateCounter<long>("river.checkpoint.rounds", "{round}", "Coordinated checkpoint rounds completed.");

    static RiverMetrics()
    {
        Meter.CreateObservableCounter("river.packets.sent", () => PerVm(vm => vm.PacketsOut), "{packet}", "Packets sent to other VMs.");
        Meter.CreateObservableCounter("river.packets.received", () => PerVm(vm => vm.PacketsIn), "{packet}", "Packets received from other VMs.");
        Meter.CreateObservableCounter("river.packets.undeliverable", () => PerVm(vm => vm.Undeliverable), "{packet}", "Packets that reached no VR.");
        Meter.CreateObservableUpDownCounter("river.vrs", () => PerVm(vm => (long)vm.VrCount), "{vr}", "VRs running.");
        Meter.CreateObservableGauge("river.queue.depth", () => PerVm(vm => vm.QueuedPackets), "{packet}", "Packets queued for the VRs of the VM, all together.");
        Meter.CreateObservableGauge("river.queue.depth.max", () => PerVm(vm => vm.LongestQueue), "{packet}", "Packets queued for the VM's most loaded VR.");
        Meter.CreateObservableUpDownCounter("river.links", Links, "{link}", "Links to other VMs, by state (connected, suspected, down).");
        Meter.CreateObservableCounter("river.link.frames.sent", () => PerLink(l => l.FramesSent), "{frame}", "Packet and control frames sent on a link.");
        Meter.CreateObservableCounter("river.link.frames.received", () => PerLink(l => l.FramesReceived), "{frame}", "Packet and control frames received on a link.");
        Meter.CreateObservableCounter("river.link.sent", () => PerLink(l => l.BytesSent), "By", "Frame bytes sent on a link.");
        Meter.CreateObservableCounter("river.link.received", () => PerLink(l => l.BytesReceived), "By", "Frame bytes received on a link.");
        Meter.CreateObservableCounter("river.link.sent.all", () => PerLink(l => l.TotalBytesSent), "By", "Bytes of every frame sent on a link, heartbeats and acknowledgements included.");
        Meter.CreateObservableCounter("river.link.received.all", () => PerLink(l => l.TotalBytesReceived), "By", "Bytes of every frame received on a link, heartbeats and acknowledgements included.");
    }

    /// <summary>Counts a mirrored VR that failed over to <paramref name="vm"/>.</summary>
    public static void Failover(VmId vm) => FailoversCounter.Add(1, VmTag(vm));

    /// <summary>Counts a complete coordinated checkpoint round kept by <paramref name="vm"/>.</summary>
    public static void CheckpointRound(VmId vm) => CheckpointRoundsCounter.Add(1, VmTag(vm));

    internal static void Deployed(VmId vm) => DeploysCounter.Add(1, VmTag(vm));

    internal static void Started(RiverVm vm) => Vms[vm] = 0;

    internal static void Stopped(RiverVm vm) => Vms.TryRemove(vm, out _);

    private static KeyValuePair<string, object?> VmTag(VmId vm) => new("vm", vm.ToString());

    private static IEnumerable<Measurement<long>> PerVm(Func<RiverVm, long> read) =>
        Vms.Keys.Select(vm => new Measurement<long>(read(vm), VmTag(vm.Id)));

    private static IEnumerable<Measurement<long>> PerLink(Func<PeerLink, long> read) =>
        from vm in Vms.Keys
        from link in vm.Membership.Peers().OfType<PeerLink>()
        select new Measurement<long>(read(link), VmTag(vm.Id), new("peer", link.RemoteId.ToString()));

    private static IEnumerable<Measurement<long>> Links() =>
        from vm in Vms.Keys
        let links = vm.Membership.Peers().OfType<PeerLink>().ToList()
        from state in (string[])["connected", "suspected", "down"]
        select new Measurement<long>(links.Count(l => l.State == state), VmTag(vm.Id), new("state", state));
}

using System.Globalization;

namespace River.Dashboard;

/// <summary>
/// Polls a cluster's VMs for their <see cref="VmStatus"/> and turns two readings into a <see cref="ClusterView"/>:
/// rates from counters, VMs that stopped answering, and the failures every VM reported, merged.
/// </summary>
/// <param name="seeds">Where to start (<c>host:port</c>); every member a VM names is asked too.</param>
/// <param name="options">The cluster's name and key.</param>
public sealed class ClusterWatch(IEnumerable<string> seeds, ClusterOptions options)
{
    private const int MaxFailures = 50, MaxGone = 16;

    private readonly string[] _seeds = [.. seeds];
    private readonly Dictionary<VmId, (VmStatus Status, DateTimeOffset At)> _last = [];
    private readonly Dictionary<VmId, GoneView> _gone = [];
    private readonly Dictionary<(FailureKind, string), FailureView> _failures = [];
    private readonly HashSet<string> _unreachable = [];

    /// <summary>Told of an address that stopped answering (once, until it answers again).</summary>
    public event Action<string, IOException>? Unreachable;

    /// <summary>Asks every VM once and returns what the cluster looks like now. Not for concurrent callers.</summary>
    public ClusterView Poll()
    {
        var failed = new List<(string Address, IOException Error)>();
        var addresses = _seeds.Concat(_last.Values.Select(l => $"{l.Status.Vm.Host}:{l.Status.Vm.Port}")).Distinct().ToList();
        var statuses = ClusterStatus.Collect(addresses, options, (address, e) =>
        {
            lock (failed) failed.Add((address, e));
        });
        var now = DateTimeOffset.UtcNow;
        foreach (var (address, error) in failed.Where(f => _unreachable.Add(f.Address))) Unreachable?.Invoke(address, error);
        _unreachable.IntersectWith(failed.Select(f => f.Address));

        var vms = statuses.OrderBy(s => s.Vm.Id.ToString(), StringComparer.Ordinal).Select(s => View(s, now)).ToList();
        foreach (var status in statuses)
        {
            _gone.Remove(status.Vm.Id);
            foreach (var f in status.Failures) Note(f, status.Vm.Id);
        }
        foreach (var (id, last) in _last.Where(l => !statuses.Any(s => s.Vm.Id == l.Key)).ToList())
        {
            _last.Remove(id);
            _gone[id] = new GoneView(id.ToString(), $"{last.Status.Vm.Host}:{last.Status.Vm.Port}", now);
            Note(new FailureReport(now, FailureKind.VmLost, id.ToString(), "it stopped answering the dashboard"), null);
        }
        foreach (var old in _gone.Values.OrderByDescending(g => g.Since).Skip(MaxGone).ToList()) _gone.Remove(VmId.Parse(old.Id));
        foreach (var status in statuses) _last[status.Vm.Id] = (status, now);
        var failures = _failures.Values.OrderByDescending(f => f.Time).Take(MaxFailures).ToList();
        return new ClusterView(now, vms, [.. _gone.Values], failures);
    }

    private VmView View(VmStatus status, DateTimeOffset now)
    {
        var before = _last.TryGetValue(status.Vm.Id, out var last) ? last : default;
        var seconds = before.Status is null ? 0 : (now - before.At).TotalSeconds;
        double Rate(long now, long? then) => seconds > 0 && then is { } t ? Math.Max(0, now - t) / seconds : 0;
        var links = status.Links.Select(l =>
        {
            var old = before.Status?.Links.FirstOrDefault(o => o.Peer == l.Peer);
            return new LinkView(l.Peer.ToString(), l.State, Rate(l.FramesSent, old?.FramesSent), Rate(l.FramesReceived, old?.FramesReceived),
                Rate(l.BytesSent, old?.BytesSent), Rate(l.BytesReceived, old?.BytesReceived));
        }).ToList();
        var a = status.Vm.Attributes;
        return new VmView(
            status.Vm.Id.ToString(), $"{status.Vm.Host}:{status.Vm.Port}",
            a.ToDictionary(kv => kv.Key, kv => Convert.ToString(kv.Value, CultureInfo.InvariantCulture)),
            a.TryGetValue(VmInfo.Load, out var load) && load is not null ? Convert.ToDouble(load, CultureInfo.InvariantCulture) : 0,
            [.. status.Vrs.Select(v => new VrView(v.Id.ToString(), v.Type, v.Queued))],
            links,
            Rate(status.PacketsIn, before.Status?.PacketsIn), Rate(status.PacketsOut, before.Status?.PacketsOut), status.Undeliverable);
    }

    // Several VMs report one VM lost: keep the first report, and who saw it.
    private void Note(FailureReport f, VmId? seenBy)
    {
        var key = (f.Kind, f.Subject);
        if (_failures.ContainsKey(key)) return;
        _failures[key] = new FailureView(f.Time, f.Kind.ToString(), f.Subject, f.Detail, seenBy?.ToString() ?? "dashboard");
        if (_failures.Count > 4 * MaxFailures)
            foreach (var old in _failures.OrderBy(kv => kv.Value.Time).Take(_failures.Count - MaxFailures).ToList()) _failures.Remove(old.Key);
    }
}

/// <summary>A cluster as the dashboard shows it at one moment.</summary>
/// <param name="Time">When it was read.</param>
/// <param name="Vms">The VMs that answered.</param>
/// <param name="Gone">VMs that answered before and no longer do.</param>
/// <param name="Failures">Recent failures, newest first.</param>
public sealed record ClusterView(DateTimeOffset Time, IReadOnlyList<VmView> Vms, IReadOnlyList<GoneView> Gone, IReadOnlyList<FailureView> Failures);

/// <summary>A VM on the dashboard; rates are per second since the previous reading.</summary>
/// <param name="Id">The VM's id.</param>
/// <param name="Address">host:port.</param>
/// <param name="Attributes">All its attributes, as text.</param>
/// <param name="Load">The host's load average.</param>
/// <param name="Vrs">Its VRs.</param>
/// <param name="Links">Its links.</param>
/// <param name="PacketsInRate">Packets per second from other VMs.</param>
/// <param name="PacketsOutRate">Packets per second to other VMs.</param>
/// <param name="Undeliverable">Packets that reached no VR, in all.</param>
public sealed record VmView(string Id, string Address, IReadOnlyDictionary<string, string?> Attributes, double Load,
    IReadOnlyList<VrView> Vrs, IReadOnlyList<LinkView> Links, double PacketsInRate, double PacketsOutRate, long Undeliverable);

/// <summary>A VR on the dashboard.</summary>
/// <param name="Id">The VR's id.</param>
/// <param name="Type">Its class.</param>
/// <param name="Queued">Packets in its queue.</param>
public sealed record VrView(string Id, string Type, int Queued);

/// <summary>One direction of a link on the dashboard, from the VM that holds it to <paramref name="Peer"/>; rates per second.</summary>
/// <param name="Peer">The VM at the other end.</param>
/// <param name="State">connected, suspected or down.</param>
/// <param name="FramesSentRate">Frames (packets and control) per second sent.</param>
/// <param name="FramesReceivedRate">Frames per second received.</param>
/// <param name="BytesSentRate">Bytes per second sent.</param>
/// <param name="BytesReceivedRate">Bytes per second received.</param>
public sealed record LinkView(string Peer, string State, double FramesSentRate, double FramesReceivedRate, double BytesSentRate, double BytesReceivedRate);

/// <summary>A VM that stopped answering.</summary>
/// <param name="Id">The VM's id.</param>
/// <param name="Address">Where it was.</param>
/// <param name="Since">When the dashboard noticed.</param>
public sealed record GoneView(string Id, string Address, DateTimeOffset Since);

/// <summary>A failure on the dashboard.</summary>
/// <param name="Time">When it was first seen.</param>
/// <param name="Kind">VrFailed, VmSuspected or VmLost.</param>
/// <param name="Subject">The id of what failed.</param>
/// <param name="Detail">Why, in one line.</param>
/// <param name="SeenBy">The VM that reported it, or <c>dashboard</c>.</param>
public sealed record FailureView(DateTimeOffset Time, string Kind, string Subject, string Detail, string SeenBy);

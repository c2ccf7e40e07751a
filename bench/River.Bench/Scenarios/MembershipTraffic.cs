using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using River.Bench.Remote;

namespace River.Bench.Scenarios;

/// <summary>
/// What keeps an idle cluster together, per VM, as it grows: N = 2, 4, 8, 16 idle <c>river vm</c> processes on loopback,
/// joined as in <c>discovery</c> (the first is the seed of the others, no multicast). Once each lists the N - 1 others and
/// a second more has passed, every VM is asked for its status twice, 10 s apart (5 s with <c>--quick</c>), as
/// <c>river status --json</c> asks (<see cref="ClusterStatus.Ask"/>, a connection of its own that no link counter sees):
/// a VM's bytes per second are its links' <see cref="LinkStatus.TotalBytesSent"/> + <see cref="LinkStatus.TotalBytesReceived"/>
/// (every frame with its length: heartbeats, acknowledgements, any control message); the row is the median VM, min-max over
/// the VMs. Beside it, the same traffic as the kernel counted it on the VMs' TCP sockets (<c>ss -ti</c>, mean per VM): payload
/// (the frames, plus the record layer's 36 bytes per record) and 52 bytes per segment (IPv4 20, TCP 20, timestamps 12), pure
/// ACKs included; a NIC adds its own framing. And each VM process's CPU time over the window, in % of a core (all it does
/// idle: heartbeats, their wake-ups, housekeeping). Multicast, off here, would add one signed datagram a second per VM sent and one
/// per other VM received. The last row: bytes per peer at 16 VMs over bytes per peer at 2 (linear growth: 1).
/// </summary>
internal sealed partial class MembershipTraffic : Scenario
{
    private static readonly int[] Sizes = [2, 4, 8, 16];

    // IPv4 (20) and TCP (20) headers, with the timestamps option (12) Linux puts on every segment.
    private const int SegmentHeaders = 52;

    public override string Name => "membership";

    public override IEnumerable<Result> Run(RunSettings s)
    {
        var window = TimeSpan.FromSeconds(s.Pick(5, 10));
        using var cluster = new RiverCluster();
        var perPeer = new Dictionary<int, Stats>();
        foreach (var n in Sizes)
        {
            var (frames, wire, cpu) = Once(cluster, n, window, s);
            perPeer[n] = frames with { Median = frames.Median / (n - 1), Min = frames.Min / (n - 1), Max = frames.Max / (n - 1) };
            s.Log($"  {n} VMs: {frames.Median:0} B/s of frames per VM ({frames.Min:0}-{frames.Max:0}), {perPeer[n].Median:0} per peer; {wire.Median:0} B/s on the wire");
            yield return new Result(Name, $"{n} idle VMs: frame bytes sent + received per VM", "B/s", frames,
                "TCP/IP on loopback, per VM (ss)", wire);
            yield return new Result(Name, $"{n} idle VMs: CPU per VM", "% of a core", cpu, "none", Stats.None);
        }
        yield return new Result(Name, $"frame bytes per peer per VM, {Sizes[^1]} VMs over {Sizes[0]} (linear: 1)", "B/s", perPeer[Sizes[^1]],
            $"{Sizes[0]} VMs", perPeer[Sizes[0]], Target.RatioAtMost(1.25));
    }

    private static (Stats Frames, Stats Wire, Stats Cpu) Once(RiverCluster cluster, int n, TimeSpan window, RunSettings s)
    {
        var vms = new List<ChildProcess>();
        try
        {
            var (seed, seedPort) = cluster.StartVmAndWait("seed river vm", s.Timeout);
            vms.Add(seed);
            for (var i = 1; i < n; i++) vms.Add(cluster.StartVm($"river vm {i}", seedPort));
            var ports = vms.Select(v => v.WaitForPort(RiverCluster.Listening, s.Timeout)).ToList();
            var options = new ClusterOptions { Name = cluster.Name, Key = ClusterOptions.ReadKeyFile(cluster.KeyFile), HandshakeTimeout = s.Timeout };
            Measure.Until(() =>
            {
                foreach (var vm in vms) vm.CheckAlive();
                return ports.All(p => Ask(p, options).Status is { } v && v.Members.Count == n - 1 && v.Links.Count(l => l.State == "connected") == n - 1);
            }, s.Timeout, $"{n} VMs each linked to the {n - 1} others");
            Thread.Sleep(1000); // the joins' gossip and acknowledgements pass

            var before = ports.Select(p => Ask(p, options)).ToList();
            var socketsBefore = Sockets(ports, s);
            var cpuBefore = vms.Select(v => v.ProcessorTime).ToList();
            var started = Stopwatch.GetTimestamp();
            Thread.Sleep(window);
            var seconds = Measure.Seconds(started);
            var cpu = vms.Zip(cpuBefore, (v, b) => (v.ProcessorTime - b).TotalSeconds / seconds * 100).ToList();
            var after = ports.Select(p => Ask(p, options)).ToList();
            var socketsAfter = Sockets(ports, s);

            var perVm = before.Zip(after, (b, a) => (Total(a.Status!) - Total(b.Status!)) / (a.At - b.At)).ToList();
            var wire = Stats.None;
            if (socketsBefore is not null && socketsAfter is not null)
            {
                var both = socketsAfter.Where(x => socketsBefore.ContainsKey(x.Key)).ToList();
                s.Log($"  {n} VMs: {socketsBefore.Count} sockets, then {socketsAfter.Count}, {both.Count} in both readings (a full mesh: {n * (n - 1)})");
                wire = Stats.Of([both.Sum(x => x.Value - socketsBefore[x.Key]) / seconds / n]);
            }
            return (Stats.Of(perVm), wire, Stats.Of(cpu));
        }
        finally
        {
            ChildProcess.DisposeAll(vms);
        }
    }

    /// <summary>A VM's status and when it answered (seconds on the stopwatch); no status while it is not ready to answer.</summary>
    private static (VmStatus? Status, double At) Ask(int port, ClusterOptions options)
    {
        try
        {
            var status = ClusterStatus.Ask("127.0.0.1", port, options);
            return (status, Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency);
        }
        catch (IOException)
        {
            return (null, 0);
        }
    }

    private static double Total(VmStatus status) => status.Links.Sum(l => (double)l.TotalBytesSent + l.TotalBytesReceived);

    // Recv-Q, Send-Q, then the two ends (the queues change between readings: the ends name the socket).
    [GeneratedRegex(@"^\S+\s+\S+\s+(?<ends>(?<local>\S+):(?<lport>\d+)\s+(?<peer>\S+):(?<pport>\d+))")]
    private static partial Regex SocketLine();

    [GeneratedRegex(@"\b(?<name>bytes_sent|bytes_received|segs_out|segs_in):(?<value>\d+)")]
    private static partial Regex SocketCounter();

    /// <summary>
    /// Bytes each established TCP socket of the VMs (one end at one of their listening <paramref name="ports"/>) carried so far,
    /// both ways, headers counted as <see cref="SegmentHeaders"/> per segment; by socket (only those in both readings count: a
    /// status connection may linger). Null when <c>ss</c> cannot say.
    /// </summary>
    private static Dictionary<string, double>? Sockets(List<int> ports, RunSettings s)
    {
        var listening = ports.Select(p => p.ToString(CultureInfo.InvariantCulture)).ToHashSet();
        string output;
        try
        {
            using var ss = Process.Start(new ProcessStartInfo("ss", "-tinH state established") { RedirectStandardOutput = true, UseShellExecute = false })!;
            output = ss.StandardOutput.ReadToEnd();
            ss.WaitForExit();
            if (ss.ExitCode != 0) throw new InvalidOperationException($"ss exited with {ss.ExitCode}");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            s.Log($"  no socket counters: {e.Message}");
            return null;
        }
        var sockets = new Dictionary<string, double>();
        string? socket = null;
        foreach (var line in output.Split('\n'))
        {
            if (SocketLine().Match(line) is { Success: true } m)
            {
                socket = listening.Contains(m.Groups["lport"].Value) || listening.Contains(m.Groups["pport"].Value) ? m.Groups["ends"].Value : null;
                continue;
            }
            if (socket is null) continue;
            var counters = SocketCounter().Matches(line).ToDictionary(c => c.Groups["name"].Value, c => double.Parse(c.Groups["value"].Value, CultureInfo.InvariantCulture));
            if (counters.Count == 0) continue;
            sockets[socket] = counters.GetValueOrDefault("bytes_sent") + counters.GetValueOrDefault("bytes_received")
                + SegmentHeaders * (counters.GetValueOrDefault("segs_out") + counters.GetValueOrDefault("segs_in"));
            socket = null;
        }
        return sockets;
    }
}

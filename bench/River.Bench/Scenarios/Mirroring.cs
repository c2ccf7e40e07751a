using System.Diagnostics;
using River.Bench.Remote;
using River.Bench.Vrs;

namespace River.Bench.Scenarios;

/// <summary>
/// Two <c>river vm</c> processes and a VM in the bench process, whose client VR talks to an echo <see cref="PeerVr"/>
/// mirrored on both (the first VM's replica the primary).
/// </summary>
internal sealed class MirrorCluster : IDisposable
{
    private readonly RiverCluster _cluster = new();
    private readonly TimeSpan _timeout;

    public MirrorCluster(TimeSpan timeout)
    {
        _timeout = timeout;
        int primaryPort, mirrorPort;
        (Primary, primaryPort) = _cluster.StartVmAndWait("river vm (primary)", timeout);
        try
        {
            (Mirror, mirrorPort) = _cluster.StartVmAndWait("river vm (mirror)", timeout, primaryPort);
            Vm = _cluster.Join(primaryPort, mirrorPort);
            Measure.Until(() => Vm.Discover(null, null).Count == 3, timeout, "both river vms showing up in Discover");
        }
        catch
        {
            // No river vm outlives a cluster that failed to start (Dispose is not called then).
            ChildProcess.DisposeAll([Primary, Mirror]);
            _cluster.Dispose();
            throw;
        }
        var others = Vm.Discover(null, null).Where(i => i.Id != Vm.Id).ToList();
        Replicas = [others.Single(i => i.Port == primaryPort), others.Single(i => i.Port == mirrorPort)];
    }

    public ChildProcess Primary { get; }
    public ChildProcess Mirror { get; }
    public RiverVm Vm { get; }

    /// <summary>The primary's VM, then the mirror's.</summary>
    public IReadOnlyList<VmInfo> Replicas { get; }

    public void Dispose()
    {
        Vm.DisposeAsync().AsTask().Wait(_timeout);
        ChildProcess.DisposeAll([Primary, Mirror]);
        _cluster.Dispose();
    }
}

/// <summary>
/// What mirroring costs: request/reply with 1,000 requests in flight to an echo VR mirrored on two VMs, against
/// the same echo VR unmirrored on the first of them, in the same run, alternating. Target: at least half the rate.
/// </summary>
internal sealed class MirroredThroughput : Scenario
{
    private const int Window = 1_000;

    /// <summary>Seconds of warm-up, both echoes alternating, before the timed runs (see <see cref="Compare"/>).</summary>
    private const double WarmupSeconds = 8;

    public override string Name => "mirrored-throughput";

    public override IEnumerable<Result> Run(RunSettings s)
    {
        var count = s.Pick(40_000, 200_000);
        var (plain, mirrored) = Compare(s, Window, count, seconds => count / seconds, "the mirrored request/reply");
        yield return new Result(Name, $"1 → 1, window {Window:N0}, mirrored on 2 VMs", "trips/s", Stats.Of(mirrored),
            "unmirrored", Stats.Of(plain), Target.RatioAtLeast(0.5));
    }

    /// <summary>
    /// Runs <paramref name="count"/> round trips with <paramref name="window"/> in flight to the echo unmirrored, then
    /// mirrored, alternating over the repetitions (after a warm-up of each: code shipped and jitted, routes known);
    /// <paramref name="score"/> turns each run's seconds into its sample.
    /// </summary>
    public static (List<double> Plain, List<double> Mirrored) Compare(RunSettings s, int window, int count, Func<double, double> score, string what)
    {
        using var cluster = new MirrorCluster(s.Timeout);
        var (plain, mirrored) = (new List<double>(), new List<double>());
        Measure.Await(BodyVr.Start(cluster.Vm, vr =>
        {
            var echo = vr.Deploy<PeerVr>(cluster.Replicas[0], true);
            var mirror = vr.DeployMirrored<PeerVr>(cluster.Replicas, true);
            // 1,000 trips of each were a few ms: the first timed runs overlapped the tier-up of all three processes'
            // code (docs/BENCHMARKS.md, "JIT during the timed phases").
            var warm = Stopwatch.GetTimestamp();
            while (Measure.Seconds(warm) < WarmupSeconds)
            {
                Trips(vr, echo, count / 10, window);
                Trips(vr, mirror, count / 10, window);
            }
            // With RIVER_BENCH_THREADS=1, each run's CPU per trip by process and thread (see ThreadCpu).
            (string, int)[] processes = [("bench", Environment.ProcessId), ("primary", cluster.Primary.Id), ("mirror", cluster.Mirror.Id)];
            for (var rep = 0; rep < s.Pick(3, 7); rep++)
            {
                plain.Add(score(ThreadCpu.Measure("unmirrored", count, processes, () => Trips(vr, echo, count, window))));
                mirrored.Add(score(ThreadCpu.Measure("mirrored", count, processes, () => Trips(vr, mirror, count, window))));
            }
            vr.Send(echo, new { tag = "stop" });
            vr.Send(mirror, new { tag = "stop" });
            return 0;
        }, out _), s.Timeout * 2, what);
        return (plain, mirrored);
    }

    /// <summary>Seconds for <paramref name="count"/> round trips with <paramref name="window"/> in flight.</summary>
    private static double Trips(VirtualResource vr, VrId echo, int count, int window)
    {
        var start = Stopwatch.GetTimestamp();
        var sent = 0;
        for (; sent < Math.Min(window, count); sent++) vr.Send(echo, new { tag = "d", n = sent });
        for (var received = 0; received < count; received++)
        {
            vr.Recv(new { tag = "d" });
            if (sent < count) vr.Send(echo, new { tag = "d", n = sent++ });
        }
        return Measure.Seconds(start);
    }
}

/// <summary>
/// What mirroring adds to a round trip: ping-pong, one request in flight, with the echo VR of
/// <see cref="MirroredThroughput"/> mirrored on two VMs against the same echo unmirrored on the first, alternating.
/// </summary>
internal sealed class MirroredPingPong : Scenario
{
    public override string Name => "mirrored-pingpong";

    public override IEnumerable<Result> Run(RunSettings s)
    {
        var count = s.Pick(2_000, 10_000);
        var (plain, mirrored) = MirroredThroughput.Compare(s, 1, count, seconds => seconds / count * 1e6, "the mirrored ping-pong");
        yield return new Result(Name, "round trip, one in flight, mirrored on 2 VMs, mean per run", "µs", Stats.Of(mirrored),
            "unmirrored", Stats.Of(plain), null);
    }
}

/// <summary>
/// How soon a mirrored VR answers again after its primary's process is SIGKILLed: a client plays ping-pong with an
/// echo mirrored on two <c>river vm</c> processes; the primary's is killed. Measured: SIGKILL to the first reply to a
/// request sent after it (from the mirror, which took over once the dead VM was declared gone; a reply to a request
/// already in flight may come sooner, since every replica answers). Target: at most 3 s.
/// </summary>
internal sealed class Failover : Scenario
{
    public override string Name => "failover";

    public override IEnumerable<Result> Run(RunSettings s)
    {
        var samples = new List<double>();
        for (var rep = 0; rep < s.Pick(2, 5); rep++)
        {
            using var cluster = new MirrorCluster(s.Timeout);
            samples.Add(Once(cluster, s.Timeout));
        }
        yield return new Result(Name, "SIGKILL of the primary's VM to the first reply from the mirror", "ms", Stats.Of(samples),
            "target", new Stats(3000, 3000, 3000), Target.ValueBelow(3000, "ms"));
    }

    private static double Once(MirrorCluster cluster, TimeSpan timeout)
    {
        long replies = 0, killed = long.MaxValue, firstAfterKill = 0;
        var stop = false;
        var pinging = BodyVr.Start(cluster.Vm, vr =>
        {
            var echo = vr.DeployMirrored<PeerVr>(cluster.Replicas, true);
            for (var n = 0; !Volatile.Read(ref stop); n++)
            {
                var sentAt = Stopwatch.GetTimestamp();
                vr.Send(echo, new { tag = "d", n });
                if (vr.Recv(new { tag = "d" }).Get<int>("n") != n) throw new InvalidOperationException($"reply {n} lost, repeated or out of order");
                Interlocked.Increment(ref replies);
                // The first only: later replies must not move the measured point while the bench thread polls.
                if (sentAt > Volatile.Read(ref killed)) Interlocked.CompareExchange(ref firstAfterKill, Stopwatch.GetTimestamp(), 0);
            }
            vr.Send(echo, new { tag = "stop" });
            return 0;
        }, out _);
        Measure.Until(() => Interlocked.Read(ref replies) != 0, timeout, "the first reply");
        Thread.Sleep(300);
        var at = Stopwatch.GetTimestamp();
        Volatile.Write(ref killed, at);
        cluster.Primary.Signal(ChildProcess.Sigkill);
        Measure.Until(() => Interlocked.Read(ref firstAfterKill) != 0, timeout, "a reply after SIGKILL");
        var ms = Stopwatch.GetElapsedTime(at, Interlocked.Read(ref firstAfterKill)).TotalMilliseconds;
        Volatile.Write(ref stop, true);
        Measure.Await(pinging, timeout, "the pinging VR to end");
        return ms;
    }
}

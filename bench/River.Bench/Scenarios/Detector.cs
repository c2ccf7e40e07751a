using System.Diagnostics;
using River.Bench.Remote;
using River.Bench.Vrs;

namespace River.Bench.Scenarios;

/// <summary>
/// The failure detector as a program sees it, through a monitor. A VR monitors an echo VR on a fresh
/// <c>river vm</c> process, which is then SIGKILLed (or SIGSTOPped): the time from the signal to the
/// <c>river.down</c> packet with reason <c>lost</c> (target ≤ 3 s: the failure timeout is 2 s). Then false
/// positives: three <c>river vm</c> processes and the bench's VM, each holding a monitored echo VR, run
/// beside two CPU-burning processes for <c>--detector-seconds</c> (default 60, 10 with <c>--quick</c>);
/// every suspicion of a healthy VM counts (monitors that fire, "suspected" in any VM's log). Target 0.
/// </summary>
internal sealed class Detector : Scenario
{
    private static readonly TimeSpan LostTarget = TimeSpan.FromSeconds(3);

    public override string Name => "detector";

    public override IEnumerable<Result> Run(RunSettings s)
    {
        using var cluster = new RiverCluster();
        using var anchor = cluster.StartAndJoin("anchor vm", s.Timeout);
        var target = new Stats(LostTarget.TotalMilliseconds, LostTarget.TotalMilliseconds, LostTarget.TotalMilliseconds);
        foreach (var (signal, name) in new[] { (ChildProcess.Sigkill, "SIGKILL"), (ChildProcess.Sigstop, "SIGSTOP") })
        {
            var samples = Enumerable.Range(0, s.Pick(3, 7)).Select(_ => ToLost(cluster, anchor.Vm, anchor.Port, signal, s.Timeout)).ToList();
            s.Log($"  {name} to lost: {string.Join(", ", samples.Select(ms => $"{ms:0}"))} ms");
            yield return new Result(Name, $"{name} of a VM process to lost at a monitor", "ms", Stats.Of(samples),
                "target", target, Target.ValueBelow(LostTarget.TotalMilliseconds, "ms"));
        }
        var seconds = s.DetectorSeconds ?? s.Pick(10, 60);
        var suspicions = FalseSuspicions(cluster, anchor, TimeSpan.FromSeconds(seconds), s);
        yield return new Result(Name, $"suspicions of healthy VMs in {seconds} s, 4 VMs beside 2 CPU burners", "count", Stats.Of([suspicions]),
            "target", new Stats(0, 0, 0), Target.ValueBelow(0.5, "suspicions"));
    }

    /// <summary>Milliseconds from <paramref name="signal"/> to a fresh VM process to <c>lost</c> at a monitor of a VR on it.</summary>
    private static double ToLost(RiverCluster cluster, RiverVm vm, int seed, int signal, TimeSpan timeout)
    {
        using var victim = cluster.StartVm("victim vm", seed);
        var id = victim.WaitFor(RiverCluster.Listening, timeout).Groups["id"].Value;
        long lostAt = 0;
        var placed = false;
        var watching = BodyVr.Start(vm, vr =>
        {
            var peer = Watch(vr, FindVm(vr, id, timeout));
            Volatile.Write(ref placed, true);
            var down = vr.Recv(new { tag = "river.down", src = peer }, timeout);
            Volatile.Write(ref lostAt, Stopwatch.GetTimestamp());
            return down.Get<string>("reason");
        }, out _);
        Measure.Until(() => Volatile.Read(ref placed), timeout, "the monitor placed");
        var signalled = Stopwatch.GetTimestamp();
        victim.Signal(signal);
        var reason = Measure.Await(watching, timeout, "the monitor's river.down");
        if (reason != "lost") throw new InvalidOperationException($"the monitor said {reason}, not lost");
        return Stopwatch.GetElapsedTime(signalled, lostAt).TotalMilliseconds; // disposing the victim kills it, stopped or not
    }

    /// <summary>
    /// Suspicions of healthy VMs within <paramref name="span"/>: two more VM processes join, an echo VR on each of the
    /// four VMs is monitored, two processes burn a core each; monitors that fire and "suspected" log lines count.
    /// </summary>
    private static int FalseSuspicions(RiverCluster cluster, JoinedVm anchor, TimeSpan span, RunSettings s)
    {
        var vm = anchor.Vm;
        var others = new List<ChildProcess>();
        var burners = new List<Process>();
        try
        {
            for (var i = 0; i < 2; i++) others.Add(cluster.StartVm($"soak vm {i}", anchor.Port));
            var ids = others.Select(o => o.WaitFor(RiverCluster.Listening, s.Timeout).Groups["id"].Value).ToList();
            for (var i = 0; i < 2; i++) burners.Add(Process.Start(new ProcessStartInfo("sh") { ArgumentList = { "-c", "while :; do :; done" } })!);
            var started = Stopwatch.GetTimestamp();
            var fired = Measure.Await(BodyVr.Start(vm, vr =>
            {
                var peers = vr.Discover().Select(v => v.Id.ToString()).Where(v => !ids.Contains(v)).Concat(ids) // this VM, the anchor, the two new ones
                    .Select(id => Watch(vr, FindVm(vr, id, s.Timeout))).ToList();
                var downs = 0;
                for (var left = span; left > TimeSpan.Zero; left = span - Stopwatch.GetElapsedTime(started))
                {
                    try
                    {
                        var down = vr.Recv(new { tag = "river.down" }, left);
                        s.Log($"  false positive: {down.Src} {down.Get<string>("reason")}");
                        downs++;
                    }
                    catch (TimeoutException)
                    {
                        break;
                    }
                }
                foreach (var peer in peers) vr.Send(peer, new { tag = "stop" });
                return downs;
            }, out _), span + s.Timeout, "the soak");
            // Only suspicions of the healthy VMs count: the victims of the timed runs are suspected by VMs that hear of them late.
            var healthy = ids.Append(anchor.Process.WaitFor(RiverCluster.Listening, s.Timeout).Groups["id"].Value).Append(vm.Id.ToString()).Select(id => $"VM {id} suspected").ToList();
            var suspected = others.Prepend(anchor.Process).SelectMany(p => p.Lines()).Where(l => l.At >= started && healthy.Any(h => l.Text.Contains(h, StringComparison.Ordinal))).ToList();
            foreach (var l in suspected) s.Log($"  false positive: {l.Text}");
            var logged = suspected.Count;
            s.Log($"  soak of {span.TotalSeconds:0} s: {fired} monitors fired, {logged} suspicions logged");
            return fired + logged;
        }
        finally
        {
            foreach (var b in burners)
            {
                b.Kill();
                b.WaitForExit();
                b.Dispose();
            }
            ChildProcess.DisposeAll(others);
        }
    }

    private static VmInfo FindVm(VirtualResource vr, string id, TimeSpan timeout)
    {
        VmInfo? found = null;
        Measure.Until(() => (found = vr.Discover().FirstOrDefault(v => v.Id.ToString() == id)) is not null, timeout, $"VM {id} discovered");
        return found!;
    }

    /// <summary>Deploys an echo VR on <paramref name="on"/>, monitors it, and returns once it answered (so the monitor stands).</summary>
    private static VrId Watch(VirtualResource vr, VmInfo on)
    {
        var peer = vr.Deploy<PeerVr>(on, true);
        vr.Monitor(peer);
        vr.Send(peer, new { tag = "sync" });
        vr.Recv(new { tag = "sync", src = peer });
        return peer;
    }
}

using System.Diagnostics;
using River.Bench.Remote;
using River.Bench.Vrs;

namespace River.Bench.Scenarios;

/// <summary>
/// How soon a stream flows again after its far VM was paused: a VR plays ping-pong with an echo VR on a
/// <c>river vm</c> process, which is SIGSTOPped for 3 s (past the failure timeout, so the VM is
/// suspected; within the grace period, so nothing is dropped), then SIGCONTed. Measured: SIGCONT to the
/// first reply after it. Target: at most 1 s.
/// </summary>
internal sealed class Reconnect : Scenario
{
    private static readonly TimeSpan Pause = TimeSpan.FromSeconds(3);

    public override string Name => "reconnect";

    public override IEnumerable<Result> Run(RunSettings s)
    {
        using var cluster = new RiverCluster();
        using var joined = cluster.StartAndJoin("river vm", s.Timeout);
        var vm = joined.Vm;
        var far = vm.Discover(null, s.Timeout).First(i => i.Id != vm.Id);
        var samples = new List<double>();
        for (var rep = 0; rep < s.Pick(2, 5); rep++) samples.Add(Once(vm, far, joined.Process, s.Timeout));
        yield return new Result(Name, $"SIGCONT after a {Pause.TotalSeconds:0} s SIGSTOP to the first reply", "ms", Stats.Of(samples),
            "target", new Stats(1000, 1000, 1000), Target.ValueBelow(1000, "ms"));
    }

    private static double Once(RiverVm vm, VmInfo far, ChildProcess process, TimeSpan timeout)
    {
        long lastReply = 0;
        var stop = false;
        var pinging = BodyVr.Start(vm, vr =>
        {
            var peer = vr.Deploy<PeerVr>(far, true);
            for (var n = 0; !Volatile.Read(ref stop); n++)
            {
                vr.Send(peer, new { tag = "d", n });
                vr.Recv(new { tag = "d" });
                Volatile.Write(ref lastReply, Stopwatch.GetTimestamp());
            }
            vr.Send(peer, new { tag = "stop" });
            return 0;
        }, out _);
        Measure.Until(() => Volatile.Read(ref lastReply) != 0, timeout, "the first reply");
        process.Signal(ChildProcess.Sigstop);
        Thread.Sleep(Pause);
        var resumed = Stopwatch.GetTimestamp();
        process.Signal(ChildProcess.Sigcont);
        Measure.Until(() => Volatile.Read(ref lastReply) > resumed, timeout, "a reply after SIGCONT");
        var ms = Stopwatch.GetElapsedTime(resumed, Volatile.Read(ref lastReply)).TotalMilliseconds;
        Volatile.Write(ref stop, true);
        Measure.Await(pinging, timeout, "the pinging VR to end");
        return ms;
    }
}

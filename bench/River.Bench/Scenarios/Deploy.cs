using System.Diagnostics;
using River.Bench.Remote;
using River.Bench.Vrs;

namespace River.Bench.Scenarios;

/// <summary>
/// Deploying onto a remote VM. Each rep starts a fresh <c>river vm</c> process with a temp folder of
/// its own (TMPDIR, so its code cache is empty), seeded with the bench's VM; an initiator VR in the
/// bench then times <c>Deploy&lt;PeerVr&gt;(vm)</c>: first (the VM lacks River.Bench.Vrs.dll: request,
/// "missing" reply, code upload, request again, load into the program run's context, start), then
/// again by the same program (code cached and loaded; the median of 20), then once by a new program
/// run (code cached, loaded into a new run's context). No baseline: against the targets.
/// </summary>
internal sealed class Deploy : Scenario
{
    private const int Cached = 20;

    public override string Name => "deploy";

    public override IEnumerable<Result> Run(RunSettings s)
    {
        var plan = s.Pick(new Plan(1, 3, 0), new Plan(1, 7, 0));
        using var cluster = new RiverCluster();
        var local = cluster.Join();
        try
        {
            var samples = Measure.Repeat(plan, () => Once(cluster, local, s));
            Stats Ms(Func<Times, double> f) => Stats.Of(samples.Select(f));
            yield return Against(200, "first Deploy to a fresh VM", Ms(t => t.First));
            yield return Against(5, "Deploy again, same program (cached)", Ms(t => t.Again));
            yield return Against(5, "Deploy by a new program run (cached)", Ms(t => t.NewRun));
        }
        finally
        {
            local.DisposeAsync().AsTask().Wait(s.Timeout);
        }
    }

    private Result Against(double ms, string metric, Stats river) =>
        new(Name, metric, "ms", river, "target", new Stats(ms, ms, ms), Target.ValueBelow(ms, "ms"));

    private readonly record struct Times(double First, double Again, double NewRun);

    private static Times Once(RiverCluster cluster, RiverVm local, RunSettings s)
    {
        using var vm = cluster.StartVm("river vm (fresh code cache)", local.Info.Port);
        var id = vm.WaitFor(RiverCluster.Listening, s.Timeout).Groups["id"].Value;
        var (first, again, peers) = Measure.Await(BodyVr.Start(local, vr =>
        {
            VmInfo? target = null;
            Measure.Until(() => (target = vr.Discover().FirstOrDefault(i => i.Id.ToString() == id)) is not null, s.Timeout, $"VM {id} joining");
            var peers = new List<VrId>();
            var first = Time(() => peers.Add(vr.Deploy<PeerVr>(target!, false)));
            var again = Stats.Of(Enumerable.Range(0, Cached).Select(_ => Time(() => peers.Add(vr.Deploy<PeerVr>(target!, false))))).Median;
            return (first, again, peers);
        }, out _), s.Timeout, "first and cached deploys");
        var newRun = Measure.Await(BodyVr.Start(local, vr =>
        {
            var target = vr.Discover().First(i => i.Id.ToString() == id);
            VrId peer = default;
            var ms = Time(() => peer = vr.Deploy<PeerVr>(target, false));
            peers.Add(peer);
            foreach (var p in peers) vr.Send(p, new { tag = "stop" });
            return ms;
        }, out _), s.Timeout, "a new program run's deploy");
        return new Times(first, again, newRun);
    }

    private static double Time(Action deploy)
    {
        var start = Stopwatch.GetTimestamp();
        deploy();
        return Measure.Seconds(start) * 1000;
    }
}

using System.Diagnostics;

namespace River.Bench.Scenarios;

/// <summary>
/// Recv by tag with many non-matching packets queued ahead: a VR fills its own queue with "noise",
/// then repeatedly queues a batch of "wanted" packets and times receiving them. The baseline is the
/// same VR with an empty queue. A predicate Recv (which cannot use the tag index) is measured too.
/// </summary>
internal sealed class SelectiveRecv : Scenario
{
    public override string Name => "selective-recv";

    public override IEnumerable<Result> Run(RunSettings s)
    {
        var plan = s.Pick(new Plan(1, 5), new Plan(2, 11));
        var batch = s.Pick(20_000, 100_000);
        var scanBatch = s.Pick(200, 1_000);
        var byTag = new Func<VirtualResource, Packet>(vr => vr.Recv(new { tag = "wanted" }));
        var byPredicate = new Func<VirtualResource, Packet>(vr => vr.Recv(p => p.TryGet<string>("tag", out var t) && t == "wanted"));

        var empty = Stats.Of(Measure1(0, batch, byTag, plan, s));
        foreach (var noise in (int[])[1_000, 100_000])
            yield return new Result(Name, $"Recv(match on tag), {noise:N0} queued", "ns", Stats.Of(Measure1(noise, batch, byTag, plan, s)),
                "same, empty queue", empty, noise == 100_000 ? Target.RatioAtMost(2) : null);

        var emptyScan = Stats.Of(Measure1(0, scanBatch, byPredicate, plan, s));
        foreach (var noise in (int[])[1_000, 100_000])
            yield return new Result(Name, $"Recv(predicate), {noise:N0} queued", "ns", Stats.Of(Measure1(noise, scanBatch, byPredicate, plan, s)),
                "same, empty queue", emptyScan);
    }

    /// <summary>ns per receive of a wanted packet behind <paramref name="noise"/> queued ones, one sample per batch.</summary>
    private static double[] Measure1(int noise, int batch, Func<VirtualResource, Packet> recv, Plan plan, RunSettings s)
    {
        var vm = new RiverVm();
        try
        {
            var done = BodyVr.Start(vm, vr =>
            {
                for (var i = 0; i < noise; i++) vr.Send(vr.Id, new { tag = "noise", n = i });
                return Measure.Repeat(plan, () =>
                {
                    for (var i = 0; i < batch; i++) vr.Send(vr.Id, new { tag = "wanted", n = i });
                    var start = Stopwatch.GetTimestamp();
                    for (var i = 0; i < batch; i++) recv(vr);
                    return Measure.Seconds(start) * 1e9 / batch;
                });
            }, out _);
            return Measure.Await(done, s.Timeout, $"selective recv with {noise} queued");
        }
        finally
        {
            vm.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}

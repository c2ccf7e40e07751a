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
        var plan = s.Pick(new Plan(1, 6), new Plan(2, 12));
        return
        [
            .. Rows("match on tag", vr => vr.Recv(new { tag = "wanted" }), s.Pick(20_000, 100_000), Target.RatioAtMost(2), plan, s),
            .. Rows("predicate", vr => vr.Recv(p => p.TryGet<string>("tag", out var t) && t == "wanted"), s.Pick(200, 1_000), null, plan, s),
        ];
    }

    /// <summary>
    /// Rows for 1,000 and 100,000 queued against the empty queue, which is measured before and after
    /// the loaded cases so drift on the shared machine hits both.
    /// </summary>
    private IEnumerable<Result> Rows(string how, Func<VirtualResource, Packet> recv, int batch, Target? goalAt100k, Plan plan, RunSettings s)
    {
        var half = plan with { Reps = (plan.Reps + 1) / 2 };
        var empty = Measure1(0, batch, recv, half, s).ToList();
        var loaded = new[] { 1_000, 100_000 }.Select(noise => (noise, samples: Measure1(noise, batch, recv, plan, s))).ToList();
        empty.AddRange(Measure1(0, batch, recv, half, s));
        return loaded.Select(x => new Result(Name, $"Recv({how}), {x.noise:N0} queued", "ns", Stats.Of(x.samples), "same, empty queue", Stats.Of(empty),
            x.noise == 100_000 ? goalAt100k : null));
    }

    /// <summary>ns per receive of a wanted packet behind <paramref name="noise"/> queued ones, one sample per batch.</summary>
    private static double[] Measure1(int noise, int batch, Func<VirtualResource, Packet> recv, Plan plan, RunSettings s)
    {
        // The VR queues up to 200,000 packets to itself: past the default queue limit, which is flow control's, not this scenario's.
        var vm = new RiverVm(new RiverVmOptions { QueueLimit = QueueLimit.Unbounded });
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

using System.Diagnostics;

namespace River.Bench.Scenarios;

/// <summary>
/// ForkWork's dynamic balancing: items of simulated work (a sleep, so the result does not depend on how 2 cores
/// are shared) on 4 embedded VMs, one of them 4× slower. Against the ideal: all the work over the VMs' summed
/// speed, from the sleeps' real lengths measured in the same run (a loaded machine oversleeps; a static even
/// split would take about 3.25× the ideal).
/// </summary>
internal sealed class TrickleBalance : Scenario
{
    private const int Vms = 4;
    private const int ItemMs = 10;
    private const int Slowdown = 4;

    public override string Name => "trickle-balance";

    public override IEnumerable<Result> Run(RunSettings s)
    {
        var items = s.Pick(200, 400);
        var reps = s.Pick(3, 7);
        var (fast, slowMs) = (SleepMs(ItemMs), SleepMs(ItemMs * Slowdown));
        var ideal = items / ((Vms - 1) / fast + 1 / slowMs);
        var times = new List<double>();
        var t = Trickle.Connect(["--vms", $"{Vms}"]).GetAwaiter().GetResult();
        try
        {
            var slow = t.Vms[^1].Id;
            for (var round = 0; round <= reps; round++)
            {
                var start = Stopwatch.GetTimestamp();
                var done = Measure.Await(t.ForkWork(Enumerable.Range(0, items), i =>
                {
                    Thread.Sleep(Trickle.Here!.Id == slow ? ItemMs * Slowdown : ItemMs);
                    return i;
                }).CountAsync().AsTask(), s.Timeout, "ForkWork");
                if (done != items) throw new InvalidOperationException($"{done} of {items} items came back");
                if (round > 0) times.Add(Measure.Seconds(start) * 1000); // round 0 deploys the agents
            }
        }
        finally
        {
            t.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        yield return new Result(Name, $"ForkWork, {items} items of {ItemMs} ms, 1 of {Vms} VMs {Slowdown}× slower", "ms", Stats.Of(times),
            $"ideal balanced time (sleeps measured: {fast:0.0} and {slowMs:0.0} ms)", new Stats(ideal, ideal, ideal), Target.RatioAtMost(1.3));
    }

    /// <summary>How long a sleep of <paramref name="ms"/> really takes here now, on average.</summary>
    private static double SleepMs(int ms)
    {
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < 20; i++) Thread.Sleep(ms);
        return Measure.Seconds(start) * 1000 / 20;
    }
}

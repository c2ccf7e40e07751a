using River.Bench.Remote;

namespace River.Bench.Scenarios;

/// <summary>
/// Latency between two processes: a client VR sends <c>new { tag = "d", data }</c> (64 B and 4 KiB
/// <c>byte[]</c>) to an echo VR on a <c>river vm</c> process and receives it back, one in flight;
/// each round trip is timed. Against raw TCP with River's framing (same waiting), Akka.NET remoting
/// and Proto.Actor remoting, all with their far end in a process of its own.
/// </summary>
internal sealed class RemotePingPong : Scenario
{
    public override string Name => "remote-pingpong";

    public override IEnumerable<Result> Run(RunSettings s)
    {
        var plan = s.Pick(new Plan(1, 5, 1.0), new Plan(2, 11));
        var trips = s.Pick(2_000, 10_000);
        using var sides = Sides.Start(s, Baseline.Raw, Baseline.Akka, Baseline.Proto, Baseline.RiverWithoutMac);
        foreach (var size in new[] { 64, 4096 })
        {
            var measured = sides.Measure(Workload.PingPong(size, trips), plan);
            var label = size < 1024 ? $"{size} B" : $"{size / 1024} KiB";
            // Per rep: the median and the 99th percentile of its round trips; the table shows the median rep of each.
            Stats Of(RemoteSample[]? x, double q) => x is null ? Stats.None : Stats.Of(x.Select(r => Stats.Quantile(r.TripNs!, q) / 1000));
            var river = measured[0].Samples;
            foreach (var (baseline, samples) in Sides.Baselines(measured))
            {
                yield return new Result(Name, $"round trip {label}, median", "µs", Of(river, 0.5), baseline, Of(samples, 0.5),
                    baseline == RiverSide.PlainName ? Target.RatioAtMost(1.1) : null);
                yield return new Result(Name, $"round trip {label}, p99", "µs", Of(river, 0.99), baseline, Of(samples, 0.99));
            }
        }
    }
}

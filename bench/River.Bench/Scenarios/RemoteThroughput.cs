using River.Bench.Remote;

namespace River.Bench.Scenarios;

/// <summary>
/// Request/reply between two processes with 1,000 requests in flight per client: 1 → 1, and 8 → 8
/// (8 client VRs, each with its own echo VR on the <c>river vm</c> process). Small packets:
/// <c>new { tag = "d", n }</c> and the echo's reply. Round trips per second, against raw TCP (4-byte
/// counter frames), Akka.NET remoting (a boxed int) and Proto.Actor remoting (a protobuf counter).
/// </summary>
internal sealed class RemoteThroughput : Scenario
{
    private const int Window = 1_000;

    public override string Name => "remote-throughput";

    public override IEnumerable<Result> Run(RunSettings s)
    {
        var plan = s.Pick(new Plan(1, 5, 1.0), new Plan(1, 9));
        using var sides = Sides.Start(s, Baseline.Raw, Baseline.Akka, Baseline.Proto, Baseline.RiverWithoutMac);
        foreach (var clients in new[] { 1, 8 })
        {
            var perClient = s.Pick(80_000, 300_000) / clients;
            var measured = sides.Measure(Workload.RequestReply(clients, Window, perClient), plan);
            Stats Rate(RemoteSample[]? x) => x is null ? Stats.None : Stats.Of(x.Select(r => clients * perClient / r.Seconds));
            var river = Rate(measured[0].Samples);
            foreach (var (baseline, samples) in Sides.Baselines(measured))
                yield return new Result(Name, $"{clients} → {clients}, window {Window:N0}", "trips/s", river, baseline, Rate(samples), Goal(baseline));
        }
    }

    private static Target? Goal(string baseline) => baseline switch
    {
        AkkaSide.BaselineName => Target.RatioAtLeast(10),
        ProtoSide.BaselineName => Target.RatioAtLeast(1.5),
        RiverSide.PlainName => Target.RatioAtLeast(0.9),
        _ => null,
    };
}

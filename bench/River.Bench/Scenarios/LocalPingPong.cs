namespace River.Bench.Scenarios;

/// <summary>Latency: two thread VRs in one VM bouncing one packet, against two threads over Channels that wait the same way.</summary>
internal sealed class LocalPingPong : Scenario
{
    public override string Name => "local-pingpong";

    public override IEnumerable<Result> Run(RunSettings s)
    {
        var plan = s.Pick(new Plan(2, 7), new Plan(3, 15));
        var trips = s.Pick(20_000, 100_000);
        var (river, baseline) = Traffic.Alternate(RiverPair.OneVm, ThreadPair.Channels, plan, (p, pl) => Traffic.PingPong(p, trips, pl, s.Timeout));
        yield return new Result(Name, "round trip", "ns", Stats.Of(river),
            $"Channels, 2 threads, {BlockingReader<int>.WaitMode}", Stats.Of(baseline), Target.RatioAtMost(2));
    }
}

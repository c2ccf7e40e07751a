namespace River.Bench.Scenarios;

/// <summary>
/// Bytes allocated per small message sent and received in steady state: the process-wide delta
/// (GC.GetTotalAllocatedBytes, precise) over a burst, so both threads and any loop in between count.
/// </summary>
internal sealed class Alloc : Scenario
{
    public override string Name => "alloc";

    public override IEnumerable<Result> Run(RunSettings s)
    {
        var plan = s.Pick(new Plan(1, 5), new Plan(2, 9));
        var count = s.Pick(50_000, 200_000);
        Stats PerMessage(StreamSample[] x) => Stats.Of(x.Select(y => y.BytesAllocated / count));
        var (river, baseline) = Traffic.Alternate(RiverPair.OneVm, ThreadPair.Channels, plan, (p, pl) => Traffic.Stream(p, count, pl, s.Timeout));
        yield return new Result(Name, "local, per msg sent+received", "B/msg", PerMessage(river), "Channels SPSC, record message", PerMessage(baseline));
        (river, baseline) = Traffic.Alternate(RiverPair.TwoVms, ThreadPair.Serialized, plan, (p, pl) => Traffic.Stream(p, count, pl, s.Timeout));
        yield return new Result(Name, "between 2 VMs, per msg sent+received", "B/msg", PerMessage(river), "RiverSerializer over Channel<byte[]>", PerMessage(baseline));
    }
}

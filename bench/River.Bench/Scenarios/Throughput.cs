namespace River.Bench.Scenarios;

/// <summary>A one-way stream of small messages between two threads; the subclasses say which River path and which baseline.</summary>
internal abstract class Throughput : Scenario
{
    protected abstract Pair NewRiverPair();

    protected abstract Pair NewBaselinePair();

    protected abstract string BaselineName { get; }

    protected abstract Target? Goal { get; }

    protected virtual int QuickCount => 200_000;

    public override IEnumerable<Result> Run(RunSettings s)
    {
        var plan = s.Pick(new Plan(1, 5), new Plan(2, 10));
        var count = s.Pick(QuickCount, 5 * QuickCount);
        var (river, baseline) = Traffic.Alternate(NewRiverPair, NewBaselinePair, plan, (p, pl) => Traffic.Stream(p, count, pl, s.Timeout));
        Stats Rates(StreamSample[] x) => Stats.Of(x.Select(y => count / y.Seconds));
        yield return new Result(Name, "throughput", "msgs/s", Rates(river), BaselineName, Rates(baseline), Goal);
    }
}

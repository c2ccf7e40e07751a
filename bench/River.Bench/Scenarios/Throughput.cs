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
        double[] Rates(Pair pair) => [.. Traffic.With(pair, p => Traffic.Stream(p, count, plan, s.Timeout)).Select(x => count / x.Seconds)];
        var river = Rates(NewRiverPair());
        var baseline = Rates(NewBaselinePair());
        yield return new Result(Name, "throughput", "msgs/s", Stats.Of(river), BaselineName, Stats.Of(baseline), Goal);
    }
}

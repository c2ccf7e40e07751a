namespace River.Bench.Scenarios;

/// <summary>Two thread VRs in one VM: Send of <c>new { tag = "d", n = i }</c>, Recv on tag; against an SPSC unbounded Channel.</summary>
internal sealed class LocalThroughput : Throughput
{
    public override string Name => "local-throughput";

    protected override Pair NewRiverPair() => RiverPair.OneVm();

    protected override Pair NewBaselinePair() => ThreadPair.Channels();

    protected override string BaselineName => $"Channels SPSC unbounded, {BlockingReader<int>.WaitMode}";

    protected override Target? Goal => Target.RatioAtLeast(0.5);
}

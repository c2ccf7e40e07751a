namespace River.Bench.Scenarios;

/// <summary>
/// The same stream between two VMs of a LocalCluster, so every packet is serialized and routed;
/// against the same serializer over a Channel of byte arrays (no routing, no inbox loop hop).
/// </summary>
internal sealed class EmbeddedThroughput : Throughput
{
    public override string Name => "embedded-throughput";

    protected override Pair NewRiverPair() => RiverPair.TwoVms();

    protected override Pair NewBaselinePair() => ThreadPair.Serialized();

    protected override string BaselineName => $"RiverSerializer over Channel<byte[]>, {BlockingReader<int>.WaitMode}";

    // No goal set yet: River adds a hop through the receiving VM's inbox loop the baseline has not.
    protected override Target? Goal => null;

    protected override int QuickCount => 100_000;
}

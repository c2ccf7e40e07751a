namespace River.Bench;

/// <summary>What a run asks of every scenario: quick or full sizes, and where progress goes.</summary>
internal sealed class RunSettings(bool quick, TextWriter progress)
{
    public bool Quick { get; } = quick;

    /// <summary>How long one side of a scenario may take before it counts as hung.</summary>
    public TimeSpan Timeout { get; } = TimeSpan.FromSeconds(quick ? 60 : 300);

    public T Pick<T>(T quick, T full) => Quick ? quick : full;

    /// <summary>The baselines remote scenarios run (<c>--baselines</c>); null: all.</summary>
    public IReadOnlyCollection<string>? Baselines { get; init; }

    /// <summary>How long the detector scenario's false-positive soak runs (<c>--detector-seconds</c>); null: 60 s, 10 s quick.</summary>
    public int? DetectorSeconds { get; init; }

    public bool Runs(string baseline) => Baselines is null || Baselines.Contains(baseline, StringComparer.OrdinalIgnoreCase);

    public void Log(string line) => progress.WriteLine(line);

    /// <summary>Part of a scenario failed (a baseline that would not start, say) but its other results stand; the exit code says so.</summary>
    public void Failed(string what)
    {
        PartFailed = true;
        Log($"FAILED: {what}");
    }

    public bool PartFailed { get; private set; }
}

/// <summary>One side-by-side comparison: measures River and its baseline in the same process and run.</summary>
internal abstract class Scenario
{
    public abstract string Name { get; }

    public abstract IEnumerable<Result> Run(RunSettings settings);

    /// <summary>Every scenario, in the order a full run measures them.</summary>
    public static IReadOnlyList<Scenario> All { get; } =
    [
        new Scenarios.LocalPingPong(),
        new Scenarios.LocalThroughput(),
        new Scenarios.EmbeddedThroughput(),
        new Scenarios.SelectiveRecv(),
        new Scenarios.Spawn(),
        new Scenarios.Alloc(),
        new Scenarios.PacketSpans(),
        new Scenarios.RemotePingPong(),
        new Scenarios.RemoteThroughput(),
        new Scenarios.RemoteThroughputCold(),
        new Scenarios.RemoteStream(),
        new Scenarios.RemoteBandwidth(),
        new Scenarios.FlowControl(),
        new Scenarios.Deploy(),
        new Scenarios.Discovery(),
        new Scenarios.MembershipTraffic(),
        new Scenarios.Reconnect(),
        new Scenarios.MirroredThroughput(),
        new Scenarios.Failover(),
        new Scenarios.Checkpoint(),
        new Scenarios.CheckpointRound(),
        new Scenarios.CheckpointPackets(),
        new Scenarios.Recovery(),
        new Scenarios.MpiPingPong(),
        new Scenarios.MpiAllreduce(),
        new Scenarios.MpiBandwidth(),
        new Scenarios.MpiEp(),
        new Scenarios.RaiCalls(),
        new Scenarios.TrickleBalance(),
        new Scenarios.Detector(),
    ];
}

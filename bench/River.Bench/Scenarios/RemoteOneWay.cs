using River.Bench.Remote;

namespace River.Bench.Scenarios;

/// <summary>
/// A one-way stream from a VR to a sink VR on a <c>river vm</c> process: <c>new { tag = "d", data }</c>
/// with a <c>byte[]</c> payload, then a sync the sink answers once everything before it arrived.
/// Against a raw framed TCP stream to a sink process (frames collect in a 64 KiB buffer written when
/// full; a frame bigger than that is written directly). The subclasses say the payload and the unit.
/// </summary>
internal abstract class RemoteOneWay : Scenario
{
    protected abstract int PayloadBytes { get; }

    protected abstract int QuickCount { get; }

    protected abstract int FullCount { get; }

    protected abstract string Metric { get; }

    protected abstract string Unit { get; }

    protected abstract double Goal { get; }

    /// <summary>The figure of merit of one rep of <paramref name="count"/> messages.</summary>
    protected abstract double Rate(int count, double seconds);

    public override IEnumerable<Result> Run(RunSettings s)
    {
        var plan = s.Pick(new Plan(1, 5, 1.0), new Plan(2, 9));
        var count = s.Pick(QuickCount, FullCount);
        using var sides = Sides.Start(s, Baseline.Raw, Baseline.RiverWithoutMac);
        var measured = sides.Measure(Workload.OneWay(PayloadBytes, count), plan);
        Stats Rates(RemoteSample[]? x) => x is null ? Stats.None : Stats.Of(x.Select(r => Rate(count, r.Seconds)));
        foreach (var (baseline, samples) in Sides.Baselines(measured))
            yield return new Result(Name, Metric, Unit, Rates(measured[0].Samples), baseline, Rates(samples), samples is null ? null : Target.RatioAtLeast(baseline == RiverSide.PlainName ? 0.9 : Goal));
    }
}

/// <summary>Small packets (64 B payload) one way: messages per second.</summary>
internal sealed class RemoteStream : RemoteOneWay
{
    public override string Name => "remote-stream";

    protected override int PayloadBytes => 64;

    protected override int QuickCount => 200_000;

    protected override int FullCount => 1_000_000;

    protected override string Metric => "one way, 64 B";

    protected override string Unit => "msgs/s";

    protected override double Goal => 0.1;

    protected override double Rate(int count, double seconds) => count / seconds;
}

/// <summary>1 MiB <c>byte[]</c> values one way: MB/s (10^6 bytes of payload per second).</summary>
internal sealed class RemoteBandwidth : RemoteOneWay
{
    public override string Name => "remote-bandwidth";

    protected override int PayloadBytes => 1 << 20;

    protected override int QuickCount => 100;

    protected override int FullCount => 400;

    protected override string Metric => "one way, 1 MiB values";

    protected override string Unit => "MB/s";

    protected override double Goal => 0.8;

    protected override double Rate(int count, double seconds) => (double)count * PayloadBytes / seconds / 1e6;
}

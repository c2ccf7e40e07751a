using System.Diagnostics;

namespace River.Bench.Scenarios;

/// <summary>
/// What packet spans cost: ping-pong and allocation between two VMs of one process while a listener samples every
/// packet (<c>river.send</c> and <c>river.receive</c> each way) or declines them all, against the same pair with no listener.
/// </summary>
internal sealed class PacketSpans : Scenario
{
    public override string Name => "packet-spans";

    public override IEnumerable<Result> Run(RunSettings s)
    {
        var plan = s.Pick(new Plan(2, 7), new Plan(3, 15));
        var trips = s.Pick(20_000, 100_000);
        const string Untraced = "River, 2 VMs, no listener";
        foreach (var (sampling, what) in new[] { (ActivitySamplingResult.AllDataAndRecorded, "every packet sampled"), (ActivitySamplingResult.None, "a listener that samples none") })
        {
            var (river, baseline) = Traffic.Alternate(() => new ListenedPair(RiverPair.TwoVms(), sampling), RiverPair.TwoVms, plan,
                (p, pl) => Traffic.PingPong(p, trips, pl, s.Timeout));
            yield return new Result(Name, $"round trip, {what}", "ns", Stats.Of(river), Untraced, Stats.Of(baseline));
        }
        var (traced, plain) = Traffic.Alternate(() => new ListenedPair(RiverPair.TwoVms(), ActivitySamplingResult.AllDataAndRecorded), RiverPair.TwoVms, plan,
            (p, pl) => Traffic.Stream(p, trips, pl, s.Timeout));
        yield return new Result(Name, "per msg sent+received, every packet sampled", "B/msg",
            Stats.Of(traced.Select(x => x.BytesAllocated / trips)), Untraced, Stats.Of(plain.Select(x => x.BytesAllocated / trips)));
    }

    /// <summary>A pair whose packets a listener to River's spans samples (or declines) while the pair exists.</summary>
    private sealed class ListenedPair(Pair inner, ActivitySamplingResult sampling) : Pair
    {
        private readonly ActivityListener _listener = Listen(sampling);

        private static ActivityListener Listen(ActivitySamplingResult sampling)
        {
            var listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == RiverMetrics.ActivitySourceName,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => sampling,
            };
            ActivitySource.AddActivityListener(listener);
            return listener;
        }

        public override T Run<T>(Func<IEnd, T> a, Action<IEnd> b, TimeSpan timeout) => inner.Run(a, b, timeout);

        public override ValueTask DisposeAsync()
        {
            _listener.Dispose();
            return inner.DisposeAsync();
        }
    }
}

using System.Diagnostics;

namespace River.Bench;

/// <summary>One timed burst: how long it took and how much the whole process allocated meanwhile.</summary>
internal readonly record struct StreamSample(double Seconds, double BytesAllocated);

/// <summary>The two traffic shapes the pair scenarios share: a one-way stream with an ack per burst, and ping-pong.</summary>
internal static class Traffic
{
    /// <summary>
    /// A sends <paramref name="count"/> messages, B acks the last; A times the burst and reads the
    /// process-wide allocation delta (it includes B and, between VMs, the link's inbox loop).
    /// </summary>
    public static StreamSample[] Stream(Pair pair, int count, Plan plan, TimeSpan timeout) => pair.Run(a =>
    {
        var samples = Measure.Repeat(plan, () =>
        {
            var bytes = GC.GetTotalAllocatedBytes(precise: true);
            var start = Stopwatch.GetTimestamp();
            for (var i = 0; i < count; i++) a.Send(i);
            a.Recv();
            var seconds = Measure.Seconds(start);
            return new StreamSample(seconds, GC.GetTotalAllocatedBytes(precise: true) - bytes);
        });
        a.Send(-1);
        return samples;
    }, b =>
    {
        for (var n = b.Recv(); n >= 0; n = b.Recv())
            if (n == count - 1) b.Send(n);
    }, timeout);

    /// <summary>Round trips A→B→A; each sample is the mean of <paramref name="trips"/> round trips, in ns.</summary>
    public static double[] PingPong(Pair pair, int trips, Plan plan, TimeSpan timeout) => pair.Run(a =>
    {
        var samples = Measure.Repeat(plan, () =>
        {
            var start = Stopwatch.GetTimestamp();
            for (var i = 0; i < trips; i++)
            {
                a.Send(i);
                a.Recv();
            }
            return Measure.Seconds(start) * 1e9 / trips;
        });
        a.Send(-1);
        return samples;
    }, b =>
    {
        for (var n = b.Recv(); n >= 0; n = b.Recv()) b.Send(n);
    }, timeout);

    /// <summary>
    /// River and its baseline in alternating rounds (<see cref="Measure.Alternate"/>), each round on a
    /// fresh pair. The first round of each side warms up fully; later ones, on fresh threads with the
    /// code already compiled, for one untimed rep.
    /// </summary>
    public static (T[] River, T[] Baseline) Alternate<T>(Func<Pair> river, Func<Pair> baseline, Plan plan, Func<Pair, Plan, T[]> measure)
    {
        var samples = Measure.Alternate(2, plan, new Plan(1, 1, 0), (side, p) => With(side == 0 ? river() : baseline(), x => measure(x, p)));
        return (samples[0], samples[1]);
    }

    /// <summary>Builds a pair, uses it, and tears it down (VMs stopped, channels completed) even on failure.</summary>
    public static T With<T>(Pair pair, Func<Pair, T> use)
    {
        try
        {
            return use(pair);
        }
        finally
        {
            pair.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}

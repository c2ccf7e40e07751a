using System.Diagnostics;

namespace River.Bench;

/// <summary>
/// Untimed warm-up rounds (JIT tiering, index building, pool growth), then timed ones. Warm-up runs
/// at least <see cref="WarmupTime"/> seconds too: measured here, River's receive path runs 3-5x
/// slower for its first ~0.5 s (tier-0 code until tiering catches up on 2 busy cores), so a
/// fixed number of short rounds would time tier-0 code.
/// </summary>
internal sealed record Plan(int Warmup, int Reps, double WarmupTime = 1.5)
{
    public int Total => Warmup + Reps;
}

/// <summary>The median of a set of repetitions, with its spread.</summary>
internal sealed record Stats(double Median, double Min, double Max)
{
    public static Stats Of(IEnumerable<double> samples)
    {
        var s = samples.ToArray();
        if (s.Length == 0) throw new ArgumentException("No samples to summarize.");
        Array.Sort(s);
        var mid = s.Length / 2;
        var median = s.Length % 2 == 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
        return new Stats(median, s[0], s[^1]);
    }

    /// <summary>For a metric that has no baseline: shown as "—", written to JSON as null.</summary>
    public static Stats None { get; } = new(double.NaN, double.NaN, double.NaN);

    /// <summary>The <paramref name="q"/> quantile (0..1) of <paramref name="samples"/>, nearest rank.</summary>
    public static double Quantile(double[] samples, double q)
    {
        if (samples.Length == 0) throw new ArgumentException("No samples to take a quantile of.");
        var s = (double[])samples.Clone();
        Array.Sort(s);
        return s[Math.Clamp((int)Math.Ceiling(q * s.Length) - 1, 0, s.Length - 1)];
    }
}

/// <summary>Runs a measurement the planned number of times and keeps only the timed rounds.</summary>
internal static class Measure
{
    public static T[] Repeat<T>(Plan plan, Func<T> once)
    {
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < plan.Warmup || Seconds(start) < plan.WarmupTime; i++) once();
        var samples = new T[plan.Reps];
        for (var i = 0; i < plan.Reps; i++) samples[i] = once();
        return samples;
    }

    /// <summary>
    /// Measures several sides of a comparison (River and its baselines) in alternating rounds of one
    /// timed rep each, so a burst of noise from the shared machine (it comes and goes over seconds)
    /// hits them alike. A side's first round warms up as <paramref name="plan"/> says; its later
    /// rounds as <paramref name="later"/> says. Returns each side's timed samples, in side order.
    /// </summary>
    public static T[][] Alternate<T>(int sides, Plan plan, Plan later, Func<int, Plan, T[]> measure)
    {
        var samples = Enumerable.Range(0, sides).Select(_ => new List<T>()).ToArray();
        for (var round = 0; round < plan.Reps; round++)
            for (var side = 0; side < sides; side++)
                samples[side].AddRange(measure(side, round == 0 ? plan with { Reps = 1 } : later));
        return [.. samples.Select(x => x.ToArray())];
    }

    public static double Seconds(long startTimestamp) => Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds;

    /// <summary>Waits for a scenario's worker; a hung River or baseline fails the scenario instead of the whole run.</summary>
    public static T Await<T>(Task<T> task, TimeSpan timeout, string what)
    {
        if (!task.Wait(timeout) && !task.IsCompleted)
            throw new TimeoutException($"{what} did not finish within {timeout.TotalSeconds:0} s.");
        return task.GetAwaiter().GetResult();
    }

    /// <summary>Polls until <paramref name="done"/> holds; for counters that many VRs bump.</summary>
    public static void Until(Func<bool> done, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var spinner = new SpinWait();
        while (!done())
        {
            if (Stopwatch.GetTimestamp() > deadline) throw new TimeoutException($"{what} did not happen within {timeout.TotalSeconds:0} s.");
            spinner.SpinOnce(); // yields, then sleeps 1 ms: the waited-for threads need the cores
        }
    }
}

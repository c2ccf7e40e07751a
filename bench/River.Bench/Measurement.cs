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

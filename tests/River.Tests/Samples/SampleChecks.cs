using System.Globalization;

namespace River.Tests.Samples;

/// <summary>
/// What each sample must print when it ran on <c>vms</c> VMs. One set of checks for every way a
/// sample is run (embedded cluster, VM processes, after a failure...).
/// </summary>
public static class SampleChecks
{
    private static double Number(string text) => double.Parse(text.Split(' ')[0], CultureInfo.InvariantCulture);

    /// <summary>One greeting from each VM; returns the greeting lines.</summary>
    public static IReadOnlyList<string> Hello(ProcessOutput run, int vms)
    {
        var greetings = run.Lines.Where(l => l.StartsWith("Hello from VR ", StringComparison.Ordinal)).ToList();
        var onVms = greetings.Select(l => l.Split(" on VM ")[1]).ToList();
        Assert.True(onVms.Count == vms && onVms.Distinct().Count() == vms, $"expected one greeting from each of {vms} VMs\n{run}");
        Assert.Equal($"{vms} VRs said hello", run.Lines[^1]);
        return greetings;
    }

    public static void PingPong(ProcessOutput run, int rounds)
    {
        Assert.Equal(rounds.ToString(CultureInfo.InvariantCulture), run.After("round trips: "));
        Assert.InRange(Number(run.After("median latency: ")), 0.1, 100_000);
        var vms = run.After("ping on VM ").Split(", echo on VM ");
        Assert.NotEqual(vms[0], vms[1]);
    }

    /// <summary>Pi with the default 1,000,000 samples per worker.</summary>
    public static void Pi(ProcessOutput run, int vms)
    {
        Assert.Equal($"{vms * 1_000_000}, workers: {vms}", run.After("samples: "));
        Assert.InRange(Number(run.After("pi = ")), Math.PI - 1e-2, Math.PI + 1e-2);
    }

    public static void WordCount(ProcessOutput run, int vms)
    {
        Assert.Equal("True", run.After("matches single-threaded count: "));
        Assert.EndsWith($"workers: {vms}", run.After("words: "));
        // The embedded text repeats Dickens' opening 30 times: 'the' occurs 14 times in it, 'of' 12.
        Assert.Equal(["420  the", "360  of"], run.Lines.SkipWhile(l => !l.StartsWith("words: ", StringComparison.Ordinal)).Skip(1).Take(2));
    }

    public static void Ring(ProcessOutput run, int vrs, int laps) =>
        Assert.Equal($"{laps} laps through {vrs} VRs, hops = {vrs * laps}", run.After("token made "));

    /// <summary>Heat with the default 1000 cells and 500 steps.</summary>
    public static void Heat(ProcessOutput run, int vms)
    {
        Assert.Equal($"1000, steps: 500, workers: {vms}", run.After("cells: "));
        Assert.Equal("True", run.After("matches sequential: "));
        Assert.True(double.IsFinite(Number(run.After("checksum: "))));
    }
}

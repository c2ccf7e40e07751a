using System.Globalization;

namespace River.Tests.Samples;

/// <summary>Each sample run as a user runs it, on an embedded cluster of three VMs, judged by what it prints.</summary>
public class SampleTests
{
    private static async Task<SampleOutput> RunOnThreeVms(string sample, params string[] args)
    {
        var run = await SampleRunner.RunAsync(sample, ["--vms", "3", .. args]);
        run.AssertSucceeded();
        return run;
    }

    private static double Number(string text) => double.Parse(text.Split(' ')[0], CultureInfo.InvariantCulture);

    [Fact]
    public async Task Hello_prints_one_greeting_from_each_VM()
    {
        var run = await RunOnThreeVms("Hello");

        var vms = run.Lines.Where(l => l.StartsWith("Hello from VR ", StringComparison.Ordinal)).Select(l => l.Split(" on VM ")[1]).ToList();
        Assert.Equal(3, vms.Count);
        Assert.Equal(3, vms.Distinct().Count());
        Assert.Equal("3 VRs said hello", run.Lines[^1]);
    }

    [Fact]
    public async Task PingPong_does_the_requested_round_trips_between_two_VMs()
    {
        var run = await RunOnThreeVms("PingPong", "--rounds", "2000");

        Assert.Equal("2000", run.After("round trips: "));
        Assert.InRange(Number(run.After("median latency: ")), 0.1, 100_000);
        var vms = run.After("ping on VM ").Split(", echo on VM ");
        Assert.NotEqual(vms[0], vms[1]);
    }

    [Fact]
    public async Task Pi_estimate_is_within_a_hundredth_of_pi()
    {
        var run = await RunOnThreeVms("Pi");

        Assert.Equal("3000000, workers: 3", run.After("samples: "));
        Assert.InRange(Number(run.After("pi = ")), Math.PI - 1e-2, Math.PI + 1e-2);
    }

    [Fact]
    public async Task WordCount_merged_counts_match_a_single_threaded_count()
    {
        var run = await RunOnThreeVms("WordCount");

        Assert.Equal("True", run.After("matches single-threaded count: "));
        Assert.EndsWith("workers: 3", run.After("words: "));
        // The embedded text repeats Dickens' opening 30 times: 'the' occurs 14 times in it, 'of' 12.
        Assert.Equal(["420  the", "360  of"], run.Lines.SkipWhile(l => !l.StartsWith("words: ", StringComparison.Ordinal)).Skip(1).Take(2));
    }

    [Fact]
    public async Task Ring_token_hops_once_per_VR_and_lap()
    {
        var run = await RunOnThreeVms("Ring");

        Assert.Equal("3 laps through 3 VRs, hops = 9", run.After("token made "));
    }

    [Fact]
    public async Task Ring_with_more_VRs_than_VMs_counts_every_hop()
    {
        var run = await RunOnThreeVms("Ring", "--vrs", "5", "--laps", "4");

        Assert.Equal("4 laps through 5 VRs, hops = 20", run.After("token made "));
    }

    [Fact]
    public async Task Heat_parallel_run_matches_the_sequential_run_bit_for_bit()
    {
        var run = await RunOnThreeVms("Heat");

        Assert.Equal("1000, steps: 500, workers: 3", run.After("cells: "));
        Assert.Equal("True", run.After("matches sequential: "));
        Assert.True(double.IsFinite(Number(run.After("checksum: "))));
    }
}

namespace River.Tests.Samples;

/// <summary>
/// Each sample run as a user runs it, judged by what it prints (<see cref="SampleChecks"/>). Where it
/// runs is up to the subclass: an embedded cluster here, VM processes in <c>ClusterSampleTests</c>.
/// </summary>
public abstract class SampleTestsBase
{
    /// <summary>How many VMs a sample's Discover finds.</summary>
    protected abstract int Vms { get; }

    protected virtual int PingPongRounds => 2000;

    /// <summary>Runs a sample to its end; the result must have succeeded.</summary>
    protected abstract Task<ProcessOutput> RunAsync(string sample, params string[] args);

    [Fact]
    public async Task Hello_prints_one_greeting_from_each_VM() =>
        SampleChecks.Hello(await RunAsync("Hello"), Vms);

    [Fact]
    public async Task PingPong_does_the_requested_round_trips_between_two_VMs() =>
        SampleChecks.PingPong(await RunAsync("PingPong", "--rounds", $"{PingPongRounds}"), PingPongRounds);

    [Fact]
    public async Task Pi_estimate_is_within_a_hundredth_of_pi() =>
        SampleChecks.Pi(await RunAsync("Pi"), Vms);

    [Fact]
    public async Task WordCount_merged_counts_match_a_single_threaded_count() =>
        SampleChecks.WordCount(await RunAsync("WordCount"), Vms);

    [Fact]
    public async Task Ring_token_hops_once_per_VR_and_lap() =>
        SampleChecks.Ring(await RunAsync("Ring"), Vms, laps: 3);

    [Fact]
    public async Task Ring_with_more_VRs_than_VMs_counts_every_hop() =>
        SampleChecks.Ring(await RunAsync("Ring", "--vrs", $"{Vms + 2}", "--laps", "4"), Vms + 2, laps: 4);

    [Fact]
    public async Task Heat_parallel_run_matches_the_sequential_run_bit_for_bit() =>
        SampleChecks.Heat(await RunAsync("Heat"), Vms);

    [Fact]
    public async Task Stream_delivers_every_numbered_packet_once_and_in_order()
    {
        var run = await RunAsync("Stream", "--count", "100000");
        Assert.Contains(run.Lines, l => l.StartsWith("received 100000 of 100000, gaps 0, duplicates 0", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Primes_counted_with_Trickle_match_the_known_count()
    {
        var run = await RunAsync("Primes", "--limit", "200000");
        Assert.Contains($"primes below 200,000: 17984 (counted on {Vms} VMs)", run.Lines); // pi(200,000) = 17,984
    }

    [Fact]
    public async Task TinyMpi_of_the_tutorial_passes_the_ring_token_and_reduces_pi_over_more_ranks_than_VMs()
    {
        var ranks = Vms + 2;
        var run = await RunAsync("TinyMpi", "-n", $"{ranks}");
        Assert.Contains($"ring: the token came back as {ranks * (ranks - 1) / 2} (the ranks sum to {ranks * (ranks - 1) / 2})", run.Lines);
        Assert.Contains($"pi = 3.1415926536 from {ranks} ranks (highest rank {ranks - 1})", run.Lines);
    }

    [Fact]
    public async Task TaskFarm_of_the_tutorial_does_every_task_once() =>
        Assert.Contains($"farm: 100 tasks done by {Vms} workers, sum of squares 328350", (await RunAsync("TaskFarm")).Lines); // 0² + ... + 99²

    [Fact]
    public async Task Supervised_restarts_the_worker_that_crashes_and_the_count_comes_out_right()
    {
        var run = await RunAsync("Supervised");
        Assert.Contains("worker 1 failed (System.InvalidOperationException: worker 1 crashes on its first run, on purpose); the supervisor starts it again", run.Lines);
        Assert.Contains("primes below 200,000: 17984 (counted by 4 supervised workers)", run.Lines); // pi(200,000) = 17,984
    }

    [Fact]
    public async Task Linked_hears_of_the_workers_end_normal_or_failed_as_an_exit_packet()
    {
        Assert.Contains("worker ended: normal after 5 ticks", (await RunAsync("Linked", "--ticks", "5")).Lines);
        Assert.Contains("worker ended: failed (System.InvalidOperationException: the worker fails at tick 3, on purpose) after 2 ticks", (await RunAsync("Linked", "--fail-at", "3")).Lines);
    }
}

/// <summary>The samples on an embedded cluster of three VMs inside the sample's process.</summary>
public class SampleTests : SampleTestsBase
{
    protected override int Vms => 3;

    protected override async Task<ProcessOutput> RunAsync(string sample, params string[] args)
    {
        var run = await ChildProcess.RunSampleAsync(sample, ["--vms", "3", .. args]);
        run.AssertSucceeded();
        return run;
    }
}

namespace River.Tests.Samples;

/// <summary>
/// The classic programs of docs/PROGRAMMABILITY.md written with River.Mpi, River.Trickle and Akka.NET (the SFM
/// versions are the Pi, Ring, WordCount and Heat samples of <see cref="SampleTests"/>): each run as a user runs
/// it, on three VMs (three actors for Akka.NET), and checked as its SFM sample is.
/// </summary>
public class ClassicsTests
{
    private const int Workers = 3;

    public static TheoryData<string> Models => ["MpiClassics", "TrickleClassics", "AkkaClassics"];

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Pi_estimate_is_within_a_hundredth_of_pi_and_the_same_as_the_SFM_samples(string model)
    {
        var run = await RunAsync(model, "pi");
        SampleChecks.Pi(run, Workers);
        Assert.Equal("3.143228 (error 1.64E-003)", run.After("pi = ")); // every model seeds worker i with i, as samples/Pi does
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Ring_token_hops_once_per_member_and_lap(string model) =>
        SampleChecks.Ring(await RunAsync(model, "ring", "--laps", "4"), Workers, laps: 4);

    [Theory]
    [MemberData(nameof(Models))]
    public async Task WordCount_merged_counts_match_a_single_threaded_count(string model) =>
        SampleChecks.WordCount(await RunAsync(model, "wordcount"), Workers);

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Heat_parallel_run_matches_the_sequential_run_bit_for_bit(string model) =>
        SampleChecks.Heat(await RunAsync(model, "heat"), Workers);

    private static async Task<ProcessOutput> RunAsync(string model, params string[] args)
    {
        var dll = model == "AkkaClassics"
            ? Built.Dll(Path.Combine("bench", "Programmability", "Akka"), model)
            : Built.Sample(model);
        var options = model == "AkkaClassics" ? new[] { "--workers", $"{Workers}" } : ["--vms", $"{Workers}"];
        using var child = ChildProcess.Dotnet(dll, [.. args, .. options]);
        var run = await child.WaitAsync(ChildProcess.DefaultTimeout);
        run.AssertSucceeded();
        return run;
    }
}

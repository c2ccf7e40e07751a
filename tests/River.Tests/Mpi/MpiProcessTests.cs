using River.Tests.Cluster;

namespace River.Tests.Mpi;

/// <summary>What an MPI sample must print: its check passed.</summary>
internal static class MpiSampleChecks
{
    public static void Check(string sample, ProcessOutput run, int ranks)
    {
        run.AssertSucceeded();
        switch (sample)
        {
            case "MpiPi":
                Assert.Contains($"ranks: {ranks}, intervals: 10000000", run.Lines);
                Assert.InRange(Math.Abs(double.Parse(run.After("pi = ").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) - Math.PI), 0, 1e-10);
                break;
            case "Jacobi2D":
                Assert.Contains($"ranks: {ranks}, grid: 96x96, steps: 200", run.Lines);
                Assert.Contains("parallel run matches the sequential run bit for bit", run.Lines);
                break;
            case "NpbEp":
                Assert.Contains("No. Gaussian Pairs = 13176389", run.Lines); // NPB's count for class S
                Assert.Contains($"Number of ranks: {ranks}", run.Lines);
                Assert.Contains("Verification    =               VERIFIED", run.Lines);
                break;
            case "NpbIs":
                Assert.Contains("Passed verifications: 51 of 51", run.Lines);
                Assert.Contains($"Number of ranks: {ranks}", run.Lines);
                Assert.Contains("Verification    =               VERIFIED", run.Lines);
                break;
            default:
                throw new ArgumentException(sample);
        }
    }
}

/// <summary>The MPI samples as a user runs them: embedded in their own process, ranks outnumbering the VMs.</summary>
public sealed class MpiSampleTests
{
    [Theory]
    [InlineData("MpiPi", 3)]
    [InlineData("Jacobi2D", 5)]
    [InlineData("NpbEp", 2)]
    [InlineData("NpbIs", 4)]
    public async Task The_sample_passes_its_check_embedded(string sample, int ranks) =>
        MpiSampleChecks.Check(sample, await ChildProcess.RunSampleAsync(sample, "--vms", "2", "-n", $"{ranks}"), ranks);
}

/// <summary>
/// <c>river mpirun</c> against three <c>river vm</c> processes: the program's process joins as a fourth VM and
/// holds rank 0, the other ranks go round-robin onto all four.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class MpirunTests(ThreeVmProcesses cluster) : IClassFixture<ThreeVmProcesses>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    private static string Faults => Built.Dll(Path.Combine("tests", "Fixtures", "MpiFaults"), "MpiFaults", "v1");

    [Theory]
    [InlineData("MpiPi", 4)]
    [InlineData("Jacobi2D", 6)]
    [InlineData("NpbEp", 4)]
    [InlineData("NpbIs", 4)]
    public async Task The_sample_passes_its_check_on_VM_processes(string sample, int ranks)
    {
        var logged = cluster.Vms.Select(vm => vm.StderrLines.Count).ToList();
        MpiSampleChecks.Check(sample, await MpirunAsync(ranks, Built.Sample(sample)), ranks);
        // Ranks really ran on the VM processes: each logged a deploy of the program.
        Assert.All(cluster.Vms.Select((vm, i) => vm.StderrLines.Skip(logged[i])), lines => Assert.Contains(lines, l => l.Contains($"Deployed {sample} as ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Mpirun_embedded_runs_the_ranks_in_the_program_process()
    {
        using var run = ChildProcess.Dotnet(Built.RiverCli, ["mpirun", "--embedded", "-n", "3", Built.Sample("MpiPi"), "--intervals", "1000"]);
        var output = await run.WaitAsync(Bound);
        output.AssertSucceeded();
        Assert.Contains("ranks: 3, intervals: 1000", output.Lines);
    }

    [Fact]
    public async Task An_exception_in_a_remote_rank_aborts_the_job_with_its_rank_and_message()
    {
        var run = await MpirunAsync(5, Faults, "throw", "3");
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("MPI job aborted: rank 3 failed: System.InvalidOperationException: rank 3 fails on purpose", run.Stderr);
    }

    [Fact]
    public async Task A_VM_killed_under_a_rank_aborts_the_job_instead_of_hanging()
    {
        using var own = TestCluster.Create();
        var vms = await VmProcess.StartManyAsync(own, 2);
        try
        {
            using var job = ChildProcess.Dotnet(Built.RiverCli, ["mpirun", "-n", "3", "--seeds", vms[0].Address, .. own.Args, Faults, "wait"]);
            var ports = await job.WaitForStdoutAsync(l => l.StartsWith("ranks on ports", StringComparison.Ordinal), Bound);
            var victim = vms.First(vm => ports.Split(' ').Contains($"{vm.Port}"));
            victim.Kill();
            var output = await job.WaitAsync(Bound);
            Assert.NotEqual(0, output.ExitCode);
            Assert.Matches(@"MPI job aborted: rank [12] failed: its VR is lost", output.Stderr);
        }
        finally
        {
            vms.DisposeAll();
        }
    }

    private async Task<ProcessOutput> MpirunAsync(int ranks, string dll, params string[] args)
    {
        using var run = ChildProcess.Dotnet(Built.RiverCli, ["mpirun", "-n", $"{ranks}", "--seeds", cluster.Vms[0].Address, .. cluster.Cluster.Args, dll, .. args]);
        return await run.WaitAsync(Bound);
    }
}

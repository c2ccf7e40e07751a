using River.Tests.Cluster;
using Xunit.Abstractions;

namespace River.Tests.Deploy;

/// <summary>
/// deploy/slurm/river.sbatch on a real SLURM: deploy/slurm/test.sh installs Debian's slurm-wlm and munge when
/// absent, runs munged, slurmctld and three slurmd ("nodes" on loopback) in a temp folder, submits Pi with
/// sbatch and checks its answer and that each node's srun-started VM hosted a worker. It needs root; where it
/// cannot run, the test passes and its output starts with "SKIPPED:" and the reason.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class SlurmTests(ITestOutputHelper output)
{
    private static readonly string Sbatch = Path.Combine(Built.Root, "deploy", "slurm", "river.sbatch");

    [Fact]
    public async Task Sbatch_starts_a_VM_per_node_with_srun_and_runs_Pi_across_them__or_SKIPPED_without_root()
    {
        // The script bounds each stage itself (the job: 180 s); installing the packages the first time takes longer.
        var result = await BashScript.RunAsync(output, Path.Combine(Built.Root, "deploy", "slurm", "test.sh"), [Built.RiverCli, Built.Sample("Pi")], TimeSpan.FromMinutes(6));
        if (result is null) return; // SKIPPED, as the output says
        Assert.Contains("PASS: sbatch ran Pi on 3 SLURM nodes' VMs", result.Stdout);
        Assert.Contains("samples: 1600000, workers: 4", result.Stdout);
    }

    [Theory]
    [InlineData("7", "river.sbatch: RIVER_KEY_FILE must name the cluster key (head -c 32 /dev/urandom | base64 > cluster.key)")]
    [InlineData("", "river.sbatch: run me with sbatch (or inside salloc); SLURM_JOB_ID is not set")]
    public async Task Sbatch_without_a_job_or_a_key_file_stops_with_one_line_before_starting_anything(string jobId, string message)
    {
        using var run = ChildProcess.Start("/bin/bash", [Sbatch, "App.dll"], environment: new Dictionary<string, string> { ["SLURM_JOB_ID"] = jobId });
        var result = await run.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(2, result.ExitCode);
        Assert.Equal(message, result.Stderr.Trim());
    }
}

using River.Tests.Cluster;

namespace River.Tests.Checkpointing;

/// <summary>
/// The Heat sample on three <c>river vm</c> processes (its own process joins as a fourth VM), checkpointing
/// every 100 steps; a VM process is SIGKILLed at a random point after the first round, or two one after
/// the other. The run must recover each time and its result must match the sequential run bit for bit,
/// as an uninterrupted run does.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class HeatRecoveryTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Heat_gives_the_uninterrupted_result_when_VM_processes_are_killed_mid_run(int kills)
    {
        using var cluster = TestCluster.Create();
        var vms = await VmProcess.StartManyAsync(cluster, 3);
        try
        {
            var dir = Path.Combine(cluster.Directory, "checkpoints");
            using var heat = ChildProcess.Sample("Heat",
                ["--cells", "40000", "--steps", "8000", "--checkpoint-every", "100", "--checkpoint-dir", dir, "--seeds", vms.Seeds(), .. cluster.Args]);
            await WaitForRoundAsync(dir, heat);
            var alive = vms.ToList();
            for (var k = 0; k < kills; k++)
            {
                await Task.Delay(Random.Shared.Next(0, 1500));
                var victim = alive[Random.Shared.Next(alive.Count)];
                alive.Remove(victim);
                victim.Kill();
                await heat.WaitForStderrAsync(l => l.Contains($"Recovered from the loss of VM {victim.Id}", StringComparison.Ordinal), Bound);
            }
            var run = await heat.WaitAsync(Bound);
            run.AssertSucceeded();
            Assert.Equal("True", run.After("matches sequential: "));
            Assert.Equal(kills, run.Stderr.Split('\n').Count(l => l.Contains("Recovered from the loss of VM", StringComparison.Ordinal)));
            // No connection was closed for garbled records (a reader once raced a VR thread's look at its buffer).
            Assert.DoesNotContain(vms.SelectMany(v => v.StderrLines).Append(run.Stderr), l => l.Contains("a record claims", StringComparison.Ordinal));
        }
        finally
        {
            vms.DisposeAll();
        }
    }

    /// <summary>
    /// A VM that does not see the checkpoint directory (its process in a mount namespace of its own, with an empty
    /// tmpfs over the directory) sends its VR's parts to the home VM, which writes them, while the others write their
    /// own: the newest complete round reads back whole with all four VRs (a part written to the tmpfs would be missing
    /// from every round). Killed, that VM's worker comes back on another VM from such a part, with the sequential result.
    /// </summary>
    [Fact]
    public async Task A_VM_that_does_not_see_the_checkpoint_directory_sends_its_parts_to_the_home_VM()
    {
        using var cluster = TestCluster.Create();
        var vms = await VmProcess.StartManyAsync(cluster, 2);
        var dir = Directory.CreateDirectory(Path.Combine(cluster.Directory, "checkpoints")).FullName;
        vms.Add(await VmProcess.StartWrappedAsync(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", $"mount -t tmpfs tmpfs '{dir}' && exec \"$0\" \"$@\""],
            ["vm", "--port", "0", "--no-multicast", .. cluster.Args, "--seeds", vms.Seeds()]));
        var hidden = vms[^1];
        try
        {
            using var heat = ChildProcess.Sample("Heat",
                ["--cells", "40000", "--steps", "8000", "--checkpoint-every", "500", "--checkpoint-dir", dir, "--seeds", vms.Seeds(), .. cluster.Args]);
            // A first round may have fewer VRs (a part that comes after a round completed joins the next ones).
            var store = new DirectoryCheckpointStore(dir);
            var deadline = DateTime.UtcNow + Bound;
            while ((await CheckpointCoordinator.ReadRoundAsync(store, new RiverSerializer(), CheckpointCoordinator.NewestRound(store),
                       Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance)).Parts.Count < 4)
            {
                Assert.False(heat.HasExited, $"the run ended before a round of all four VRs read back whole\n{heat}");
                Assert.True(DateTime.UtcNow < deadline, $"no round of all four VRs read back whole in {dir}");
                await Task.Delay(50);
            }
            hidden.Kill();
            await heat.WaitForStderrAsync(l => l.Contains($"Recovered from the loss of VM {hidden.Id}", StringComparison.Ordinal), Bound);
            var run = await heat.WaitAsync(Bound);
            run.AssertSucceeded();
            Assert.Equal("True", run.After("matches sequential: "));
        }
        finally
        {
            vms.DisposeAll();
        }
    }

    /// <summary>Waits for a complete round: any round's manifest (round 1's may be pruned before a poll sees it).</summary>
    private static async Task WaitForRoundAsync(string dir, ChildProcess run)
    {
        var deadline = DateTime.UtcNow + Bound;
        var manifest = Path.GetFileName(CheckpointCoordinator.ManifestName(1));
        while (!Directory.Exists(dir) || !Directory.EnumerateFiles(dir, manifest, SearchOption.AllDirectories).Any())
        {
            Assert.False(run.HasExited, $"the run ended before a round was complete in {dir}\n{run}");
            Assert.True(DateTime.UtcNow < deadline, $"no round was complete in {dir}");
            await Task.Delay(20);
        }
    }
}

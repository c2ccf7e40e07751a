namespace River.Tests.Cluster;

/// <summary>
/// Two programs that bring different builds of one library (tests/Fixtures/Versioned, v1 and v2) deploy
/// onto one VM process at the same time: each run's shipped code loads in a context of its own, so each
/// program's VR calls its own build.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class VersionTests
{
    private static readonly TimeSpan RunBound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Two_programs_with_different_versions_of_a_library_each_run_their_own_on_one_VM()
    {
        using var cluster = TestCluster.Create();
        using var vm = await VmProcess.StartAsync(cluster);
        var release = Path.Combine(cluster.Directory, "release");
        string[] args = ["--hold-file", release, "--hold-seconds", "60", "--seeds", vm.Address, .. cluster.Args];
        using var v1 = ChildProcess.Dotnet(Built.Dll("tests/Fixtures/VersionProbe", "VersionProbe", "v1"), args);
        using var v2 = ChildProcess.Dotnet(Built.Dll("tests/Fixtures/VersionProbe", "VersionProbe", "v2"), args);
        var runs = await Task.WhenAll(v1.WaitAsync(RunBound), v2.WaitAsync(RunBound));

        foreach (var (run, version) in runs.Zip(new[] { 1, 2 }))
        {
            run.AssertSucceeded();
            var expected = $"lib v{version} (assembly {version}.0.0.0)";
            Assert.Equal(expected, run.After("initiator: "));
            Assert.Equal(expected, run.After($"worker on {vm.Address}: "));
            Assert.Equal("1", run.After("workers: "));
        }
        // Both workers still hold on the VM: the two builds were loaded there side by side.
        await RiverCli.StatusUntilAsync(cluster, vm.Address, s => s.Single().Vrs.Count(v => v.Type == "VersionProbe") == 2,
            TimeSpan.FromSeconds(5), "both probe VRs on the VM at once");

        File.WriteAllText(release, "");
        await RiverCli.StatusUntilAsync(cluster, vm.Address, s => s.Single().Vrs.Count == 0, TimeSpan.FromSeconds(5), "the probes released");
        Assert.Equal(2, vm.StderrLines.Count(l => l.Contains("Deployed VersionProbe as ", StringComparison.Ordinal)));
    }
}

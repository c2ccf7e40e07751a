using Xunit.Abstractions;

namespace River.Tests.Cluster;

/// <summary>
/// VMs on three "hosts" (network namespaces on one bridge) find each other by multicast alone; runs
/// tests/netns/multihost.sh, which needs root and iproute2. Where it cannot run, the test passes and
/// its output starts with "SKIPPED:" and the reason (xunit 2 has no skipping decided at run time).
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class MultiHostTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task VMs_in_three_network_namespaces_find_each_other_by_multicast_and_run_Pi__or_SKIPPED_without_root_and_netns()
    {
        var script = Path.Combine(Built.Root, "tests", "netns", "multihost.sh");
        if (!OperatingSystem.IsLinux() || !File.Exists("/bin/bash"))
        {
            output.WriteLine("SKIPPED: network namespaces need Linux and bash");
            return;
        }
        var prefix = "rvt" + Guid.NewGuid().ToString("N")[..6];
        using var run = ChildProcess.Start("/bin/bash", [script, Built.RiverCli, Built.Sample("Pi"), prefix]);
        ProcessOutput result;
        try
        {
            result = await run.WaitAsync(Bound);
        }
        finally
        {
            // The script cleans up in a trap; should it have been killed before, remove what it left.
            await run.StopAsync(TimeSpan.FromSeconds(5));
            await RemoveNamespacesAsync(prefix);
        }
        output.WriteLine(result.ToString());
        if (result.ExitCode == 77)
        {
            output.WriteLine($"SKIPPED: {result.Stdout.Trim()}");
            return;
        }
        result.AssertSucceeded();
        Assert.Contains("PASS: 3 VMs found each other by multicast", result.Stdout);
    }

    /// <summary>Kills what runs in the namespaces whose names start with <paramref name="prefix"/> and deletes them.</summary>
    internal static async Task RemoveNamespacesAsync(string prefix)
    {
        using var list = ChildProcess.Start("ip", ["netns", "list"]);
        var names = (await list.WaitAsync(TimeSpan.FromSeconds(10))).Lines.Select(l => l.Split(' ')[0]).Where(n => n.StartsWith(prefix, StringComparison.Ordinal));
        foreach (var name in names)
        {
            using var pids = ChildProcess.Start("ip", ["netns", "pids", name]);
            foreach (var pid in (await pids.WaitAsync(TimeSpan.FromSeconds(10))).Lines)
            {
                try
                {
                    using var process = System.Diagnostics.Process.GetProcessById(int.Parse(pid));
                    process.Kill();
                }
                catch (ArgumentException)
                {
                    // gone already
                }
            }
            using var delete = ChildProcess.Start("ip", ["netns", "del", name]);
            await delete.WaitAsync(TimeSpan.FromSeconds(10));
        }
    }
}

namespace River.Tests.Cluster;

/// <summary>
/// Runs a script of tests/netns (hosts made of Linux network namespaces) with River's CLI and a sample.
/// Exit 77 means it cannot run here (not root, no iproute2): the result is null and the output says
/// "SKIPPED:" and why (xunit 2 has no skipping decided at run time). Namespaces it leaves are removed.
/// </summary>
internal static class NetnsScript
{
    /// <summary>The script's output once it succeeded; null when it was skipped.</summary>
    public static async Task<ProcessOutput?> RunAsync(Xunit.Abstractions.ITestOutputHelper output, string script, string tag, string sampleDll, TimeSpan bound)
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/bin/bash"))
        {
            output.WriteLine("SKIPPED: network namespaces need Linux and bash");
            return null;
        }
        var prefix = tag + Guid.NewGuid().ToString("N")[..6];
        using var run = ChildProcess.Start("/bin/bash", [Path.Combine(Built.Root, "tests", "netns", script), Built.RiverCli, sampleDll, prefix]);
        ProcessOutput result;
        try
        {
            result = await run.WaitAsync(bound);
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
            return null;
        }
        result.AssertSucceeded();
        return result;
    }

    /// <summary>Kills what runs in the namespaces whose names start with <paramref name="prefix"/> and deletes them.</summary>
    private static async Task RemoveNamespacesAsync(string prefix)
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

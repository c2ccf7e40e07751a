namespace River.Tests.Cluster;

/// <summary>
/// Runs a script of tests/netns (hosts made of Linux network namespaces) with River's CLI and a sample, as
/// <see cref="BashScript"/> does (exit 77: skipped). Namespaces it leaves are removed.
/// </summary>
internal static class NetnsScript
{
    /// <summary>The script's output once it succeeded; null when it was skipped.</summary>
    public static Task<ProcessOutput?> RunAsync(Xunit.Abstractions.ITestOutputHelper output, string script, string tag, string sampleDll, TimeSpan bound)
    {
        var prefix = tag + Guid.NewGuid().ToString("N")[..6];
        return BashScript.RunAsync(output, Path.Combine(Built.Root, "tests", "netns", script), [Built.RiverCli, sampleDll, prefix], bound, () => RemoveNamespacesAsync(prefix));
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

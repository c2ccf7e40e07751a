namespace River.Tests;

/// <summary>
/// Runs a bash script that tests something it sets up itself (network namespaces, a SLURM cluster).
/// Exit 77 means it cannot run here (not root, a tool missing): the result is null and the output says
/// "SKIPPED:" and why (xunit 2 has no skipping decided at run time). Any other exit but 0 fails.
/// </summary>
internal static class BashScript
{
    /// <summary>
    /// The script's output once it succeeded; null when it was skipped. <paramref name="afterwards"/> runs once
    /// the script has ended, also when it failed or ran past <paramref name="bound"/>: to remove what it may have left.
    /// </summary>
    public static async Task<ProcessOutput?> RunAsync(Xunit.Abstractions.ITestOutputHelper output, string script, IEnumerable<string> args, TimeSpan bound, Func<Task>? afterwards = null)
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/bin/bash"))
        {
            output.WriteLine($"SKIPPED: {Path.GetFileName(script)} needs Linux and bash");
            return null;
        }
        using var run = ChildProcess.Start("/bin/bash", [script, .. args]);
        ProcessOutput result;
        try
        {
            result = await run.WaitAsync(bound);
        }
        finally
        {
            // The script cleans up in a trap; should it have been killed before, remove what it left.
            await run.StopAsync(TimeSpan.FromSeconds(5));
            if (afterwards is not null) await afterwards();
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
}

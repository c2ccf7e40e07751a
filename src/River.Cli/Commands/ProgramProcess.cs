using System.CommandLine;
using System.Diagnostics;

namespace River.Cli.Commands;

/// <summary>Starts a River program (a built App.dll or a project) as a child process and waits for its exit code.</summary>
internal static class ProgramProcess
{
    /// <summary>
    /// Runs <paramref name="target"/> with <paramref name="args"/>. With <paramref name="cluster"/> the program's
    /// RiverApp joins that cluster (seeds, or multicast discovery when none are named) instead of starting an
    /// embedded one; without, it runs embedded.
    /// </summary>
    public static async Task<int> RunAsync(string target, IEnumerable<string> args, ClusterArguments? cluster, ParseResult parse, CancellationToken cancel)
    {
        var start = target.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)
            ? new ProcessStartInfo("dotnet") { ArgumentList = { target } }
            : new ProcessStartInfo("dotnet") { ArgumentList = { "run", "--project", target, "--" } };
        foreach (var a in args) start.ArgumentList.Add(a);
        if (cluster is not null)
        {
            // The program's RiverApp reads these: it joins the cluster instead of starting an embedded one.
            var seeds = string.Join(',', cluster.SeedList(parse));
            if (seeds.Length == 0) start.Environment["RIVER_DISCOVER"] = "1";
            else start.Environment["RIVER_SEEDS"] = seeds;
            start.Environment["RIVER_CLUSTER"] = parse.GetValue(cluster.Cluster);
            if (parse.GetValue(cluster.KeyFile) is { } key) start.Environment["RIVER_KEY_FILE"] = key.FullName;
            start.Environment["RIVER_BIND"] = parse.GetValue(cluster.Bind);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet could not be started");
        try
        {
            await process.WaitForExitAsync(cancel);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return process.ExitCode;
    }
}

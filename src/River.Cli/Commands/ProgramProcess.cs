using System.CommandLine;
using System.Diagnostics;
using System.Globalization;

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
        if (cluster is not null)
        {
            // The program's RiverApp reads these: it joins the cluster instead of starting an embedded one.
            var seeds = string.Join(',', cluster.SeedList(parse));
            if (seeds.Length == 0) start.Environment["RIVER_DISCOVER"] = "1";
            else start.Environment["RIVER_SEEDS"] = seeds;
            start.Environment["RIVER_CLUSTER"] = parse.GetValue(cluster.Cluster);
            if (parse.GetValue(cluster.KeyFile) is { } key) start.Environment["RIVER_KEY_FILE"] = key.FullName;
            if (parse.GetValue(cluster.TlsCert) is { } tls) start.Environment["RIVER_TLS_CERT"] = tls.FullName;
            start.Environment["RIVER_BIND"] = parse.GetValue(cluster.Bind);
            // These two have no variable: they go as River options, which RiverApp takes out of the program's arguments.
            if (parse.GetValue(cluster.Insecure)) start.ArgumentList.Add("--insecure");
            if (parse.GetValue(cluster.GracePeriod) is { } grace)
            {
                start.ArgumentList.Add("--grace-period");
                start.ArgumentList.Add(grace.ToString(CultureInfo.InvariantCulture));
            }
        }
        foreach (var a in args) start.ArgumentList.Add(a);
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

using System.CommandLine;
using System.Diagnostics;

namespace River.Cli.Commands;

/// <summary><c>river run</c>: starts a River program as one more VM of a cluster; it deploys onto the others.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var cluster = new ClusterArguments();
        var app = new Argument<string>("app") { Description = "The program: a built App.dll, a project file or a project folder." };
        var rest = new Argument<string[]>("args") { Description = "Arguments for the program (after --).", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("run", "Run a River program on a cluster.") { app, rest };
        cluster.AddTo(command);
        command.SetAction(async (parse, cancel) =>
        {
            var target = parse.GetValue(app)!;
            var start = target.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)
                ? new ProcessStartInfo("dotnet") { ArgumentList = { target } }
                : new ProcessStartInfo("dotnet") { ArgumentList = { "run", "--project", target, "--" } };
            foreach (var a in parse.GetValue(rest) ?? []) start.ArgumentList.Add(a);
            // The program's RiverApp reads these: it joins the cluster instead of starting an embedded one.
            var seeds = string.Join(',', cluster.SeedList(parse));
            if (seeds.Length == 0) start.Environment["RIVER_DISCOVER"] = "1";
            else start.Environment["RIVER_SEEDS"] = seeds;
            start.Environment["RIVER_CLUSTER"] = parse.GetValue(cluster.Cluster);
            if (parse.GetValue(cluster.KeyFile) is { } key) start.Environment["RIVER_KEY_FILE"] = key.FullName;
            start.Environment["RIVER_BIND"] = parse.GetValue(cluster.Bind);
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
        });
        return command;
    }
}

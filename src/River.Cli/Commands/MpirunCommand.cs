using System.CommandLine;

namespace River.Cli.Commands;

/// <summary>
/// <c>river mpirun -n N App.dll [args]</c>: runs an MPI program (River.Mpi's <c>MpiApp</c>) with N ranks on the
/// cluster the usual options name (seeds, else multicast discovery), or inside its own process with <c>--embedded</c>.
/// </summary>
internal static class MpirunCommand
{
    public static Command Create()
    {
        var cluster = new ClusterArguments();
        var ranks = new Option<int?>("-n", "-np") { Description = "How many ranks (default: one per VM)." };
        var embedded = new Option<bool>("--embedded") { Description = "Run on an embedded cluster inside the program's process instead of joining one." };
        var app = new Argument<string>("app") { Description = "The MPI program: a built App.dll, a project file or a project folder." };
        var rest = new Argument<string[]>("args") { Description = "Arguments for the program.", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("mpirun", "Run an MPI program (River.Mpi) with N ranks.") { ranks, embedded, app, rest };
        cluster.AddTo(command);
        command.Validators.Add(result =>
        {
            if (result.GetValue(ranks) is < 1) result.AddError("-n takes a positive number of ranks.");
        });
        command.SetAction((parse, cancel) =>
        {
            string[] args = [.. parse.GetValue(ranks) is { } n ? ["-n", $"{n}"] : Array.Empty<string>(), .. parse.GetValue(rest) ?? []];
            return ProgramProcess.RunAsync(parse.GetValue(app)!, args, parse.GetValue(embedded) ? null : cluster, parse, cancel);
        });
        return command;
    }
}

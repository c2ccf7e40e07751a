using System.CommandLine;

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
        command.SetAction((parse, cancel) => ProgramProcess.RunAsync(parse.GetValue(app)!, parse.GetValue(rest) ?? [], cluster, parse, cancel));
        return command;
    }
}

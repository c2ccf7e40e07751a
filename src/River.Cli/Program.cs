using System.CommandLine;
using River.Cli.Commands;

// The `river` command: run VMs, run programs on them, inspect and steer a cluster.
var root = new RootCommand("River for .NET: VMs, programs and the cluster they form.")
{
    VmCommand.Create(),
    RunCommand.Create(),
    StatusCommand.Create(),
    KillCommand.Create(),
    HashCommand.Create(),
};
return await root.Parse(args).InvokeAsync();

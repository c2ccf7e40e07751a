using System.CommandLine;
using River.Cli.Commands;

// The `river` command: run VMs, run programs on them, inspect and steer a cluster.
var vm = VmCommand.Create();
var root = new RootCommand("River for .NET: VMs, programs and the cluster they form.")
{
    vm,
    RunCommand.Create(),
    MpirunCommand.Create(),
    StatusCommand.Create(),
    KillCommand.Create(),
    DashboardCommand.Create(),
    HashCommand.Create(),
    CheckpointsCommand.Create(),
    UpCommand.Create(),
    DownCommand.Create(),
};
// `river vm` also takes its options from RIVER_* variables and river.json (flags win).
if (args.FirstOrDefault() == vm.Name)
{
    try
    {
        args = [vm.Name, .. ConfigurationArguments.Complete(vm, args[1..])];
    }
    catch (Exception e) when (e is IOException or InvalidDataException or FormatException or ArgumentException)
    {
        await Console.Error.WriteLineAsync($"river vm: {e.Message}");
        return 2;
    }
}
return await root.Parse(args).InvokeAsync();

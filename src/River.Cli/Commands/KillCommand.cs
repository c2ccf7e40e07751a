using System.CommandLine;

namespace River.Cli.Commands;

/// <summary><c>river kill</c>: ends a VR wherever it runs.</summary>
internal static class KillCommand
{
    public static Command Create()
    {
        var cluster = new ClusterArguments();
        var id = new Argument<string>("vr-id") { Description = "The VR's UUID (from river status)." };
        var command = new Command("kill", "End a VR: its queue closes, so its next receive throws, and an async VR is cancelled.") { id };
        cluster.AddTo(command, bind: false);
        command.SetAction(parse =>
        {
            var options = cluster.Read(parse);
            if (!Guid.TryParse(parse.GetValue(id), out var guid))
            {
                Console.Error.WriteLine($"river: '{parse.GetValue(id)}' is not a VR id (a UUID).");
                return 2;
            }
            var vr = new VrId(guid);
            var (host, port) = SeedAddress.Parse(cluster.SeedList(parse).DefaultIfEmpty("127.0.0.1:7700").First());
            var status = ClusterStatus.Ask(host, port, options);
            foreach (var vm in status.Members.Prepend(status.Vm))
            {
                using var client = ClusterClient.Connect(vm.Host, vm.Port, options);
                if (client.Ask<KillReply>(new KillRequest(vr)).Found)
                {
                    Console.WriteLine($"killed {vr} on VM {vm.Id}");
                    return 0;
                }
            }
            Console.Error.WriteLine($"river: no VM of the cluster runs VR {vr}");
            return 1;
        });
        return command;
    }
}

using System.CommandLine;
using System.Net;
using River.Dashboard;

namespace River.Cli.Commands;

/// <summary><c>river dashboard</c>: a live web page of a cluster, on loopback, until SIGTERM or Ctrl-C.</summary>
internal static class DashboardCommand
{
    public static Command Create()
    {
        var cluster = new ClusterArguments();
        var port = new Option<int>("--port") { Description = "The TCP port of the page on 127.0.0.1 (0: any free one).", DefaultValueFactory = _ => 7780 };
        var interval = new Option<double>("--interval") { Description = "Seconds between two readings of the cluster.", DefaultValueFactory = _ => 1 };
        var command = new Command("dashboard", "Serve a live web page of a cluster's VMs, VRs, links and failures at http://127.0.0.1:PORT/.") { port, interval };
        cluster.AddTo(command, bind: false);
        command.SetAction(async (parse, cancel) =>
        {
            if (parse.GetValue(port) is < 0 or > 65535 || parse.GetValue(interval) is not (>= 0.1 and <= 3600))
            {
                await Console.Error.WriteLineAsync("river dashboard: --port takes 0 to 65535 and --interval 0.1 to 3600 seconds.");
                return 2;
            }
            var watch = new ClusterWatch(cluster.SeedList(parse).DefaultIfEmpty("127.0.0.1:7700"), cluster.Read(parse));
            watch.Unreachable += (_, e) => Console.Error.WriteLine($"river dashboard: {e.Message}"); // the message names the VM
            DashboardServer server;
            try
            {
                server = DashboardServer.Start(watch, parse.GetValue(port), TimeSpan.FromSeconds(parse.GetValue(interval)));
            }
            catch (HttpListenerException e)
            {
                await Console.Error.WriteLineAsync($"river dashboard: cannot listen on port {parse.GetValue(port)}: {e.Message}");
                return 1;
            }
            await using (server)
            {
                Console.WriteLine($"River dashboard of cluster {parse.GetValue(cluster.Cluster)} at {server.Url}");
                await Task.Delay(Timeout.Infinite, cancel).ContinueWith(_ => { });
            }
            return 0;
        });
        return command;
    }
}

using System.Globalization;
using System.Text.RegularExpressions;

namespace River.Bench.Remote;

/// <summary>
/// The bench binary's hidden server modes, the far ends of the baselines, each started by a scenario
/// as a process of its own: <c>--serve-raw PORT</c>, <c>--serve-akka PORT</c>, <c>--serve-proto PORT</c>
/// (0: any free port). Each prints <c>listening PORT</c> once it accepts connections, on 127.0.0.1 only,
/// and exits when its stdin closes: when the bench closes it or is gone, however it ended.
/// </summary>
internal static class Servers
{
    public const string RawFlag = "--serve-raw", AkkaFlag = "--serve-akka", ProtoFlag = "--serve-proto";

    public static readonly Regex ListeningLine = new(@"^listening (?<port>\d+)$", RegexOptions.Compiled);

    /// <summary>
    /// Starts this binary in server mode <paramref name="flag"/> on a free port and, once it listens,
    /// builds the client side with its port; the server is killed if that fails.
    /// </summary>
    public static T Start<T>(string name, string flag, RunSettings s, Func<ChildProcess, int, T> client)
    {
        var server = ChildProcess.Bench(name, flag, "0");
        try
        {
            return client(server, server.WaitForPort(ListeningLine, s.Timeout));
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>Runs a server mode if <paramref name="args"/> ask for one; false for a normal bench run.</summary>
    public static bool TryRun(string[] args, out int exitCode)
    {
        exitCode = 0;
        if (args is not [var flag, var portText] || flag is not (RawFlag or AkkaFlag or ProtoFlag)) return false;
        var port = int.Parse(portText, CultureInfo.InvariantCulture);
        Action stop = () => { };
        switch (flag)
        {
            case RawFlag:
                port = RawServer.Listen(port);
                break;
            case AkkaFlag:
                var (akka, akkaPort) = AkkaSide.Serve(port);
                (port, stop) = (akkaPort, () => akka.Terminate().Wait(TimeSpan.FromSeconds(5)));
                break;
            case ProtoFlag:
                var (proto, protoPort) = ProtoSide.Serve(port);
                (port, stop) = (protoPort, () => proto.ShutdownAsync().Wait(TimeSpan.FromSeconds(5)));
                break;
        }
        Console.Out.WriteLine($"listening {port}");
        Console.Out.Flush();
        Console.In.ReadToEnd();
        stop();
        Environment.Exit(0); // framework threads (DotNetty, Kestrel) would keep the process alive
        return true;
    }
}

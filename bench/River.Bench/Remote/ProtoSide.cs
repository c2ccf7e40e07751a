using Google.Protobuf;
using Proto;
using Proto.Remote;
using Proto.Remote.GrpcNet;
using River.Bench.Remote.Proto;

namespace River.Bench.Remote;

/// <summary>
/// The Proto.Actor baseline: Proto.Remote over gRPC (GrpcNet, bound to 127.0.0.1) with protobuf
/// messages (<c>BenchMsg</c>: a counter or a <c>bytes</c> payload). Echo actors <c>echo-0..7</c> are
/// spawned by name in a server process (<c>River.Bench --serve-proto PORT</c>) and answer with
/// <c>Respond</c>; in the bench, one client actor per client keeps its window in flight with
/// <c>Request</c>. Proto.Actor waits its own way (thread-pool dispatch, async gRPC streams).
/// </summary>
internal sealed class ProtoSide : IRemoteSide
{
    public const string BaselineName = "proto.actor";

    public string Name => BaselineName;

    private readonly ChildProcess _server;
    private readonly ActorSystem _system;
    private readonly string _address;
    private readonly TimeSpan _timeout;

    private ProtoSide(ChildProcess server, int port, TimeSpan timeout)
    {
        (_server, _address, _timeout) = (server, $"127.0.0.1:{port}", timeout);
        _system = StartSystem(0);
    }

    public static ProtoSide Start(RunSettings s) =>
        Servers.Start("proto.actor server", Servers.ProtoFlag, s, (server, port) => new ProtoSide(server, port, s.Timeout));

    private static ActorSystem StartSystem(int port)
    {
        var system = new ActorSystem().WithRemote(RemoteConfig.BindToLocalhost(port).WithProtoMessages(BenchReflection.Descriptor));
        system.Remote().StartAsync().GetAwaiter().GetResult();
        return system;
    }

    /// <summary>The server side: a remote actor system with <see cref="AkkaSide.Echoes"/> echo actors; returns it and its port.</summary>
    public static (ActorSystem System, int Port) Serve(int port)
    {
        var system = StartSystem(port);
        for (var i = 0; i < AkkaSide.Echoes; i++)
            system.Root.SpawnNamed(Props.FromFunc(static ctx =>
            {
                if (ctx.Message is BenchMsg m) ctx.Respond(m);
                return Task.CompletedTask;
            }), $"echo-{i}");
        return (system, int.Parse(system.Address.Split(':')[^1], System.Globalization.CultureInfo.InvariantCulture));
    }

    public ISession Open(Workload work)
    {
        if (!work.Echo || work.Clients > AkkaSide.Echoes) throw new NotSupportedException($"The Proto.Actor baseline does request/reply with up to {AkkaSide.Echoes} clients.");
        var clock = work.TimesTrips ? new TripClock(work.Count) : null;
        var data = work.Payload is null ? null : ByteString.CopyFrom(work.Payload);
        var drivers = new List<PID>();
        for (var i = 0; i < work.Clients; i++)
        {
            var echo = PID.FromAddress(_address, $"echo-{i}");
            var mine = i == 0 ? clock : null;
            drivers.Add(_system.Root.Spawn(Props.FromProducer(() => new Driver(echo, work, data, mine))));
        }
        return new ActorClients(drivers.Count, (i, go) => _system.Root.Send(drivers[i], go), () => drivers.ForEach(_system.Root.Stop), clock, _timeout, "Proto.Actor");
    }

    public void Dispose()
    {
        try
        {
            _system.Remote().ShutdownAsync().Wait(_timeout);
        }
        finally
        {
            _server.Dispose();
        }
    }

    /// <summary>A client: on Go, runs one rep of its request window against its echo.</summary>
    private sealed class Driver(PID echo, Workload work, ByteString? data, TripClock? clock) : IActor
    {
        private RequestWindow? _window;
        private TaskCompletionSource? _done;

        public Task ReceiveAsync(IContext context)
        {
            switch (context.Message)
            {
                case Go go:
                    _done = go.Done;
                    _window ??= new RequestWindow(work, clock, n => context.Request(echo, data is null ? new BenchMsg { N = n } : new BenchMsg { Data = data }));
                    _window.Start();
                    break;
                case BenchMsg:
                    if (_window!.Reply()) _done!.TrySetResult();
                    break;
            }
            return Task.CompletedTask;
        }
    }
}

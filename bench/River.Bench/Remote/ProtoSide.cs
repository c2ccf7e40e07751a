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
    private readonly ChildProcess _server;
    private readonly ActorSystem _system;
    private readonly string _address;
    private readonly TimeSpan _timeout;

    private ProtoSide(ChildProcess server, TimeSpan timeout)
    {
        _server = server;
        _timeout = timeout;
        _address = $"127.0.0.1:{server.WaitForPort(Servers.ListeningLine, timeout)}";
        _system = StartSystem(0);
    }

    public static ProtoSide Start(RunSettings s)
    {
        var server = ChildProcess.Bench("proto.actor server", Servers.ProtoFlag, "0");
        try
        {
            return new ProtoSide(server, s.Timeout);
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    public const string BaselineName = "proto.actor";

    public string Name => BaselineName;

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
        return new Session(_system, drivers, clock, _timeout);
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

    private sealed record Go(TaskCompletionSource Done);

    private sealed class Session(ActorSystem system, List<PID> drivers, TripClock? clock, TimeSpan timeout) : ISession
    {
        public RemoteSample RunOnce()
        {
            var done = new Task[drivers.Count];
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            for (var i = 0; i < drivers.Count; i++)
            {
                var go = new Go(new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                done[i] = go.Done.Task;
                system.Root.Send(drivers[i], go);
            }
            if (!Task.WaitAll(done, timeout)) throw new TimeoutException($"Proto.Actor clients did not finish within {timeout.TotalSeconds:0} s.");
            return new RemoteSample(Measure.Seconds(start), clock?.Take());
        }

        public void Dispose()
        {
            foreach (var d in drivers) system.Root.Stop(d);
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

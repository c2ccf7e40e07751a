using Akka.Actor;
using Akka.Configuration;

namespace River.Bench.Remote;

/// <summary>
/// The Akka.NET baseline: Akka.Remote (DotNetty TCP on 127.0.0.1, HOCON below) with its default
/// serializers: a request/reply message is a boxed <c>int</c> (Akka.Remote's primitive serializer), a
/// ping-pong payload a <c>byte[]</c> (its byte-array serializer). Echo actors <c>echo-0..7</c> run
/// in a server process (<c>River.Bench --serve-akka PORT</c>) and answer <c>Sender.Tell(message)</c>;
/// in the bench, one client actor per client keeps its window of requests in flight, sending one
/// more per reply, as Akka's RemotePingPong benchmark does. Akka waits its own way (dispatcher
/// threads from its thread pool, DotNetty event loops).
/// </summary>
internal sealed class AkkaSide : IRemoteSide
{
    public const string BaselineName = "akka.net";

    public string Name => BaselineName;

    public const int Echoes = 8;

    private readonly ChildProcess _server;
    private readonly ActorSystem _system;
    private readonly int _port;
    private readonly TimeSpan _timeout;

    private AkkaSide(ChildProcess server, int port, TimeSpan timeout)
    {
        (_server, _port, _timeout) = (server, port, timeout);
        _system = ActorSystem.Create("river-bench-client", Config(0));
    }

    public static AkkaSide Start(RunSettings s) =>
        Servers.Start("akka.net server", Servers.AkkaFlag, s, (server, port) => new AkkaSide(server, port, s.Timeout));

    /// <summary>The server side: an actor system with <see cref="Echoes"/> echo actors; returns it and its port.</summary>
    public static (ActorSystem System, int Port) Serve(int port)
    {
        var system = ActorSystem.Create("river-bench-server", Config(port));
        for (var i = 0; i < Echoes; i++) system.ActorOf(Props.Create<Echo>(), $"echo-{i}");
        return (system, ((ExtendedActorSystem)system).Provider.DefaultAddress.Port ?? port);
    }

    private static Config Config(int port) => ConfigurationFactory.ParseString($$"""
        akka {
          loglevel = WARNING
          stdout-loglevel = WARNING
          log-dead-letters = off
          log-dead-letters-during-shutdown = off
          actor.provider = remote
          remote {
            log-remote-lifecycle-events = off
            dot-netty.tcp {
              hostname = 127.0.0.1
              port = {{port}}
            }
          }
        }
        """);

    public ISession Open(Workload work)
    {
        if (!work.Echo || work.Clients > Echoes) throw new NotSupportedException($"The Akka.NET baseline does request/reply with up to {Echoes} clients.");
        var clock = work.TimesTrips ? new TripClock(work.Count) : null;
        var drivers = new List<IActorRef>();
        for (var i = 0; i < work.Clients; i++)
        {
            var echo = _system.ActorSelection($"akka.tcp://river-bench-server@127.0.0.1:{_port}/user/echo-{i}").ResolveOne(_timeout).GetAwaiter().GetResult();
            var mine = i == 0 ? clock : null;
            drivers.Add(_system.ActorOf(Props.Create(() => new Driver(echo, work, mine))));
        }
        return new ActorClients(drivers.Count, (i, go) => drivers[i].Tell(go), () => drivers.ForEach(d => d.Tell(PoisonPill.Instance)), clock, _timeout, "Akka.NET");
    }

    public void Dispose()
    {
        try
        {
            _system.Terminate().Wait(_timeout);
        }
        finally
        {
            _server.Dispose();
        }
    }

    /// <summary>A client: on Go, runs one rep of its request window against its echo.</summary>
    private sealed class Driver : UntypedActor
    {
        private readonly RequestWindow _window;
        private TaskCompletionSource? _done;

        public Driver(IActorRef echo, Workload work, TripClock? clock) =>
            _window = new RequestWindow(work, clock, n => echo.Tell(work.Payload ?? (object)n, Self));

        protected override void OnReceive(object message)
        {
            if (message is Go go)
            {
                _done = go.Done;
                _window.Start();
            }
            else if (_window.Reply()) _done!.TrySetResult();
        }
    }

    private sealed class Echo : UntypedActor
    {
        protected override void OnReceive(object message) => Sender.Tell(message, Self);
    }
}

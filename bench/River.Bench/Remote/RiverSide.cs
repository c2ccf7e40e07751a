using System.Text.RegularExpressions;
using River.Bench.Vrs;

namespace River.Bench.Remote;

/// <summary>
/// The name and key a scenario's River VMs share (a key file in a temp folder), and how to start
/// <c>river vm</c> processes and in-process VMs in that cluster. Everything listens on 127.0.0.1.
/// </summary>
internal sealed class RiverCluster : IDisposable
{
    /// <summary>The log line a VM prints as soon as it listens (before it has joined anyone): id and port.</summary>
    public static readonly Regex Listening = new(@"River\.Transport\[12\] VM (?<id>\S+) listening on 127\.0\.0\.1:(?<port>\d+)", RegexOptions.Compiled);

    private readonly string _directory = Directory.CreateTempSubdirectory("river-bench-cluster-").FullName;

    /// <param name="plainFrames">Frames without a MAC on every VM of the cluster: the baseline that shows what authentication costs.</param>
    public RiverCluster(bool plainFrames = false)
    {
        PlainFrames = plainFrames;
        KeyFile = Path.Combine(_directory, "cluster.key");
        File.WriteAllText(KeyFile, Convert.ToHexString(Guid.NewGuid().ToByteArray()));
    }

    public string Name { get; } = "bench-" + Guid.NewGuid().ToString("N")[..8];

    public string KeyFile { get; }

    public bool PlainFrames { get; }

    /// <summary>Starts a <c>river vm</c> on a free port; <paramref name="seeds"/> are ports of VMs to join.</summary>
    public ChildProcess StartVm(string name, params int[] seeds) =>
        ChildProcess.RiverVm(name, PlainFrames ? new Dictionary<string, string> { ["RIVER_BENCH_PLAIN_FRAMES"] = "1" } : [], [
            "--port", "0", "--no-multicast", "--cluster", Name, "--key-file", KeyFile, "--bind", "127.0.0.1",
            .. seeds.Length == 0 ? Array.Empty<string>() : ["--seeds", string.Join(',', seeds.Select(p => $"127.0.0.1:{p}"))],
        ]);

    /// <summary>Starts a <c>river vm</c> and returns it with its port once it listens.</summary>
    public (ChildProcess Process, int Port) StartVmAndWait(string name, TimeSpan timeout, params int[] seeds)
    {
        var vm = StartVm(name, seeds);
        try
        {
            return (vm, vm.WaitForPort(Listening, timeout));
        }
        catch
        {
            vm.Dispose();
            throw;
        }
    }

    /// <summary>A VM in this process, joined to the cluster through the VMs listening on <paramref name="seeds"/>.</summary>
    public RiverVm Join(params int[] seeds)
    {
        var options = new ClusterOptions { Name = Name, Key = ClusterOptions.ReadKeyFile(KeyFile), Multicast = false, PlainFrames = PlainFrames };
        foreach (var p in seeds) options.Seeds.Add($"127.0.0.1:{p}");
        return RiverVm.JoinAsync(options).GetAwaiter().GetResult();
    }

    /// <summary>Starts a <c>river vm</c> and joins a VM in this process to it; disposing both leaves and kills it.</summary>
    public JoinedVm StartAndJoin(string name, TimeSpan timeout)
    {
        var (process, port) = StartVmAndWait(name, timeout);
        try
        {
            return new JoinedVm(process, port, Join(port), timeout);
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // a temp folder
        }
    }
}

/// <summary>A <c>river vm</c> process (listening on <see cref="Port"/>) and the bench's VM joined to it.</summary>
internal sealed class JoinedVm(ChildProcess process, int port, RiverVm vm, TimeSpan timeout) : IDisposable
{
    public ChildProcess Process { get; } = process;

    public int Port { get; } = port;

    public RiverVm Vm { get; } = vm;

    public void Dispose()
    {
        Vm.DisposeAsync().AsTask().Wait(timeout);
        Process.Dispose();
    }
}

/// <summary>
/// River: client VRs (thread VRs) in a VM in the bench process, each talking to a <see cref="PeerVr"/>
/// it deployed on a <c>river vm</c> process: <c>Send(peer, new { tag = "d", data })</c> (or <c>n</c>)
/// and <c>Recv(new { tag = "d" })</c>, as a program does. How River waits: a VR's <c>Recv</c> polls
/// (SpinBudget: flat for 5 µs, then yielding, 50 µs in all) then parks; each connection's reader thread
/// polls the socket the same way for 50 µs, then blocks in <c>recv</c>; a VR's sends are corked until it waits.
/// </summary>
internal sealed class RiverSide : IRemoteSide
{
    private readonly RiverCluster _cluster;
    private readonly ChildProcess _process;
    private readonly RiverVm _vm;
    private readonly VmInfo _far;
    private readonly TimeSpan _timeout;

    /// <summary>The baseline name of River with frames that carry no MAC (<see cref="ClusterOptions.PlainFrames"/>).</summary>
    public const string PlainName = "river-no-mac";

    private RiverSide(RiverCluster cluster, ChildProcess process, RiverVm vm, TimeSpan timeout)
    {
        (_cluster, _process, _vm, _timeout) = (cluster, process, vm, timeout);
        // JoinAsync usually returns knowing the seed, but under load its first dial may still be retrying.
        VmInfo? far = null;
        Measure.Until(() => (far = vm.Discover(null, null).FirstOrDefault(i => i.Id != vm.Id)) is not null, timeout, "the river vm showing up in Discover");
        _far = far!;
    }

    public static RiverSide Start(RunSettings s) => Start(s, plainFrames: false);

    public static RiverSide Start(RunSettings s, bool plainFrames)
    {
        var cluster = new RiverCluster(plainFrames);
        ChildProcess? process = null;
        try
        {
            (process, var port) = cluster.StartVmAndWait("river vm", s.Timeout);
            return new RiverSide(cluster, process, cluster.Join(port), s.Timeout);
        }
        catch
        {
            process?.Dispose();
            cluster.Dispose();
            throw;
        }
    }

    public string Name => _cluster.PlainFrames ? PlainName : "River";

    public ISession Open(Workload work) => new Session(this, work);

    public void Dispose()
    {
        try
        {
            _vm.DisposeAsync().AsTask().Wait(_timeout);
        }
        finally
        {
            _process.Dispose();
            _cluster.Dispose();
        }
    }

    private sealed class Session : ISession
    {
        private readonly Gang _gang;
        private readonly TripClock? _clock;
        private readonly List<Task<int>> _workers = [];
        private readonly TimeSpan _timeout;

        public Session(RiverSide side, Workload work)
        {
            _timeout = side._timeout;
            var peers = Measure.Await(BodyVr.Start(side._vm, vr => vr.Deploy<PeerVr>(Enumerable.Repeat(side._far, work.Clients), work.Echo), out _),
                side._timeout, $"deploying {work.Clients} PeerVr");
            _gang = new Gang(work.Clients, side._timeout);
            _clock = work.TimesTrips ? new TripClock(work.Count) : null;
            for (var i = 0; i < work.Clients; i++)
            {
                var (me, peer) = (i, peers[i]);
                _workers.Add(BodyVr.Start(side._vm, vr =>
                {
                    var clock = me == 0 ? _clock : null;
                    _gang.Serve(me, () => Rep(vr, peer, work, clock));
                    vr.Send(peer, new { tag = "stop" });
                    return 0;
                }, out _));
            }
        }

        public RemoteSample RunOnce() => new(_gang.RunOnce(), _clock?.Take());

        public void Dispose()
        {
            _gang.Dispose();
            Task.WaitAny(Task.WhenAll(_workers), Task.Delay(_timeout));
        }

        private static void Rep(VirtualResource vr, VrId peer, Workload work, TripClock? clock)
        {
            if (!work.Echo)
            {
                for (var i = 0; i < work.Count; i++) Send(vr, peer, work.Payload, i);
                vr.Send(peer, new { tag = "sync" });
                vr.Recv(new { tag = "sync" });
                return;
            }
            var window = new RequestWindow(work, clock, n => Send(vr, peer, work.Payload, n));
            window.Start();
            do vr.Recv(new { tag = "d" });
            while (!window.Reply());
        }

        private static void Send(VirtualResource vr, VrId peer, byte[]? data, int n)
        {
            if (data is null) vr.Send(peer, new { tag = "d", n });
            else vr.Send(peer, new { tag = "d", data });
        }
    }
}

using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace River;

/// <summary>
/// Joins a VM to a cluster over TCP: listens, dials seeds and VMs heard of, authenticates every
/// connection, keeps one link per VM (re-opened with backoff after a fault), sends heartbeats and
/// drops VMs that fall silent. See docs/PROTOCOL.md.
/// </summary>
internal sealed class TcpTransport : INetwork
{
    private static readonly byte[] Heartbeat = [Frames.HeartbeatKind];

    // Connections still authenticating beyond this many are closed at once.
    private const int MaxHandshaking = 128;

    // How long a VM dropped for silence is still re-dialed, in case it was only paused or cut off.
    private static readonly TimeSpan LostRedialWindow = TimeSpan.FromMinutes(5);

    private readonly ILogger _logger;
    private readonly Socket _listener;
    private readonly ConcurrentDictionary<VmId, PeerLink> _links = new();
    private readonly ConcurrentDictionary<string, bool> _dialing = new();
    private readonly ConcurrentDictionary<VmId, (string Host, int Port)> _endpoints = new();
    private readonly ConcurrentDictionary<VmId, long> _lost = new();
    private readonly ConcurrentBag<(string Host, int Port)> _seeds = [];
    private int _handshaking;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _seeded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly X509Certificate2? _certificate;
    private RiverVm _vm = null!;
    private MulticastDiscovery? _multicast;

    public TcpTransport(ClusterOptions options, ILogger logger)
    {
        Options = options;
        _logger = logger;
        if (options.TlsCertificate is { } path) _certificate = X509CertificateLoader.LoadPkcs12FromFile(path, null);
        _listener = new Socket(options.Bind.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(options.Bind, options.Port));
        _listener.Listen(512);
        LocalEndPoint = (IPEndPoint)_listener.LocalEndPoint!;
    }

    public ClusterOptions Options { get; }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Completes once every seed has answered (or could not be reached in time).</summary>
    public Task Seeded => _seeded.Task;

    public void Start(RiverVm vm)
    {
        _vm = vm;
        new Thread(AcceptLoop) { IsBackground = true, Name = "River acceptor" }.Start();
        new Thread(TickLoop) { IsBackground = true, Name = "River heartbeat" }.Start();
        _ = JoinSeedsAsync();
        if (Options.Multicast) _multicast = MulticastDiscovery.Start(this, vm, _logger);
    }

    public void Dial(VmInfo vm)
    {
        // Of two VMs that hear of each other, the one with the smaller id dials: no duplicate connections.
        if (vm.Id == _vm.Id || _links.ContainsKey(vm.Id) || _vm.Id.Value.CompareTo(vm.Id.Value) > 0) return;
        DialOnce(vm.Host, vm.Port);
    }

    public void Forget(VmId vm)
    {
        if (!_links.TryRemove(vm, out var link)) return;
        var dropped = link.Close();
        if (dropped > 0) _logger.LinkDropped(vm, dropped);
        link.Connection?.Close("the VM left");
    }

    internal bool OnFrame(TcpConnection connection, ReadOnlyMemory<byte> frame, byte[]? tail = null) =>
        (frame.Span[0] == Frames.HeartbeatKind && tail is null) || _vm.OnFrame(connection.Link!, frame, tail);

    internal void OnConnectionClosed(TcpConnection connection, string reason)
    {
        if (connection.Link is not { } link) return;
        link.Detach(connection);
        _logger.ConnectionClosed(link.RemoteId, reason);
        if (connection.Outbound && !_stop.IsCancellationRequested && _links.TryGetValue(link.RemoteId, out var current) && current == link)
            _ = RedialAsync(link, connection.Remote!);
    }

    private async Task RedialAsync(PeerLink link, Handshake.Hello remote)
    {
        var delay = TimeSpan.FromMilliseconds(50);
        while (!_stop.IsCancellationRequested && _links.TryGetValue(link.RemoteId, out var current) && current == link && link.Connection is null)
        {
            if (await DialAsync(remote.Host, remote.Port) != DialResult.Unreachable) return;
            await Task.Delay(delay, _stop.Token).ContinueWith(_ => { });
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
        }
    }

    /// <summary>Dials an address unless a dial to it is under way.</summary>
    private void DialOnce(string host, int port)
    {
        var key = $"{host}:{port}";
        if (!_dialing.TryAdd(key, true)) return;
        _ = Task.Run(async () =>
        {
            try
            {
                await DialAsync(host, port);
            }
            finally
            {
                _dialing.TryRemove(key, out _);
            }
        });
    }

    private async Task JoinSeedsAsync()
    {
        var joins = new List<Task>();
        foreach (var seed in Options.Seeds)
        {
            var (host, port) = SeedAddress.Parse(seed);
            IPAddress[] addresses;
            try
            {
                addresses = IPAddress.TryParse(host, out var ip) ? [ip] : await Dns.GetHostAddressesAsync(host, _stop.Token);
            }
            catch (SocketException e)
            {
                _logger.SeedUnreachable(seed, e.Message);
                continue;
            }
            foreach (var address in addresses.Where(a => a.AddressFamily == Options.Bind.AddressFamily))
            {
                _seeds.Add((address.ToString(), port));
                joins.Add(JoinSeedAsync(address.ToString(), port));
            }
        }
        await Task.WhenAll(joins);
        _seeded.TrySetResult();
    }

    // Seeds may still be starting: retry for a while, then leave them to the heartbeat's re-dials.
    private async Task JoinSeedAsync(string host, int port)
    {
        for (var attempt = 0; attempt < 50 && !_stop.IsCancellationRequested; attempt++)
        {
            switch (await DialAsync(host, port))
            {
                case DialResult.Connected: return;
                case DialResult.Refused: return; // logged; retrying would not change the answer
            }
            await Task.Delay(200, _stop.Token).ContinueWith(_ => { });
        }
        _logger.SeedUnreachable($"{host}:{port}", "no answer after 10 s");
    }

    private enum DialResult { Connected, Unreachable, Refused }

    /// <summary>Connects and authenticates on a thread of its own (see <see cref="BlockingStream"/>).</summary>
    private Task<DialResult> DialAsync(string host, int port) => OnOwnThread(() =>
    {
        var socket = new Socket(Options.Bind.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // A blocking connect, bounded by closing the socket when the handshake time is up.
            using var deadline = new Timer(static s => ((Socket)s!).Dispose(), socket, Options.HandshakeTimeout, Timeout.InfiniteTimeSpan);
            socket.Connect(host, port);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            socket.Dispose();
            return DialResult.Unreachable;
        }
        return Establish(socket, outbound: true);
    });

    private static Task<T> OnOwnThread<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        new Thread(() => done.SetResult(work()), 256 * 1024) { IsBackground = true, Name = "River handshake" }.Start();
        return done.Task;
    }

    private void AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                if (_stop.IsCancellationRequested) return;
                continue;
            }
            if (Interlocked.Increment(ref _handshaking) > MaxHandshaking)
            {
                // A flood of connections that do not authenticate must not starve the VM.
                Interlocked.Decrement(ref _handshaking);
                _logger.ConnectionRefused(socket.RemoteEndPoint?.ToString() ?? "?", $"more than {MaxHandshaking} connections are authenticating");
                socket.Dispose();
                continue;
            }
            _ = OnOwnThread(() =>
            {
                try
                {
                    return Establish(socket, outbound: false);
                }
                finally
                {
                    Interlocked.Decrement(ref _handshaking);
                }
            });
        }
    }

    /// <summary>
    /// Authenticates a new connection and adopts it; any failure closes it with a log line. Runs on the
    /// connection's own thread with blocking I/O; a deadline closes a connection that is too slow.
    /// </summary>
    private DialResult Establish(Socket socket, bool outbound)
    {
        var remote = socket.RemoteEndPoint?.ToString() ?? "?";
        var network = new NetworkStream(socket, ownsSocket: true);
        Stream stream = network;
        var timeout = (int)Options.HandshakeTimeout.TotalMilliseconds;
        using var deadline = new Timer(static s => ((Stream)s!).Dispose(), network, timeout, Timeout.Infinite);
        try
        {
            socket.NoDelay = true;
            network.ReadTimeout = network.WriteTimeout = timeout;
            stream = SecureAsync(new BlockingStream(network), outbound).GetAwaiter().GetResult();
            var me = _vm.Info;
            var mine = new Handshake.Hello(ClusterOptions.ProtocolVersion, Options.Name, _vm.Id, Handshake.NewNonce(), me.Host, me.Port);
            var theirs = (outbound
                ? Handshake.DialAsync(stream, Options, mine, CancellationToken.None)
                : Handshake.AcceptAsync(stream, Options, mine, CancellationToken.None)).GetAwaiter().GetResult();
            deadline.Change(Timeout.Infinite, Timeout.Infinite);
            network.ReadTimeout = network.WriteTimeout = Timeout.Infinite;
            if (theirs.Id == _vm.Id)
            {
                stream.Dispose(); // a seed list that names this VM itself
                return DialResult.Refused;
            }
            Adopt(new TcpConnection(socket, stream, this, outbound) { Remote = theirs });
            return DialResult.Connected;
        }
        catch (HandshakeException e)
        {
            _logger.ConnectionRefused(remote, e.Message);
            stream.Dispose();
            return DialResult.Refused;
        }
        catch (Exception e)
        {
            _logger.ConnectionRefused(remote, e is ObjectDisposedException or IOException { InnerException: SocketException { SocketErrorCode: SocketError.TimedOut } }
                ? $"no handshake within {Options.HandshakeTimeout.TotalSeconds:0.#} s"
                : e.Message);
            stream.Dispose();
            return DialResult.Unreachable;
        }
    }

    private async Task<Stream> SecureAsync(Stream stream, bool outbound)
    {
        if (_certificate is null) return stream;
        // Who may join is decided by the cluster key in the handshake; TLS adds privacy on the wire.
        var tls = new SslStream(stream, false, (_, _, _, _) => true);
        if (outbound) await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "river" });
        else await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _certificate });
        return tls;
    }

    private void Adopt(TcpConnection connection)
    {
        var id = connection.Remote!.Id;
        var link = _links.GetOrAdd(id, static (id, t) => new PeerLink(id, t), this);
        TcpConnection? existing;
        lock (link)
        {
            existing = link.Connection is { IsClosed: false } live ? live : null;
            if (existing is not null)
            {
                // Both dialed at once: both sides keep the connection dialed by the smaller id.
                var dialerOfNew = connection.Outbound ? _vm.Id : id;
                var dialerOfOld = existing.Outbound ? _vm.Id : id;
                if (dialerOfNew.Value.CompareTo(dialerOfOld.Value) >= 0)
                {
                    connection.Close("a duplicate connection");
                    return;
                }
            }
            connection.Link = link;
            link.LastHeard = Environment.TickCount64;
            link.Attach(connection);
        }
        if (existing is not null && existing != connection) existing.Close("replaced by a duplicate connection");
        _lost.TryRemove(id, out _);
        _endpoints[id] = (connection.Remote.Host, connection.Remote.Port);
        connection.StartReading();
        _vm.Connect(link);
    }

    /// <summary>
    /// The heartbeat, on a thread of its own so a busy thread pool cannot delay it: sends heartbeats,
    /// drops VMs heard nothing from, and re-dials seeds and lost VMs so a cluster split by a pause or
    /// a network fault heals.
    /// </summary>
    private void TickLoop()
    {
        PeerLink.t_isTransportThread = true;
        var last = Environment.TickCount64;
        var lastRedial = last;
        while (!_stop.Token.WaitHandle.WaitOne(Options.HeartbeatInterval))
        {
            var now = Environment.TickCount64;
            var stalled = now - last > Options.FailureTimeout.TotalMilliseconds / 2;
            last = now;
            foreach (var link in _links.Values)
            {
                // After a stall of our own (a long GC pause, SIGSTOP, swapping) silence is our fault, not theirs.
                if (stalled) link.LastHeard = now;
                else if (now - Volatile.Read(ref link.LastHeard) > Options.FailureTimeout.TotalMilliseconds)
                {
                    _lost[link.RemoteId] = now;
                    _vm.RemoveMember(link.RemoteId, $"nothing heard for {Options.FailureTimeout.TotalSeconds:0.#} s");
                }
                else if (link.Connection is not null && now - Volatile.Read(ref link.LastSent) >= Options.HeartbeatInterval.TotalMilliseconds)
                    link.Send(Heartbeat);
            }
            if (now - lastRedial >= 1000)
            {
                lastRedial = now;
                Redial(now);
            }
        }
    }

    private void Redial(long now)
    {
        foreach (var (id, since) in _lost)
        {
            if (now - since > LostRedialWindow.TotalMilliseconds) _lost.TryRemove(id, out _);
            else if (!_links.ContainsKey(id) && _endpoints.TryGetValue(id, out var at)) DialOnce(at.Host, at.Port);
        }
        var linked = _links.Keys.Select(id => _endpoints.GetValueOrDefault(id)).ToHashSet();
        foreach (var seed in _seeds)
            if (!linked.Contains(seed)) DialOnce(seed.Host, seed.Port);
    }

    public ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested) return ValueTask.CompletedTask;
        _stop.Cancel();
        _multicast?.Dispose();
        _listener.Dispose();
        foreach (var link in _links.Values) link.WaitDrained(TimeSpan.FromMilliseconds(500));
        foreach (var id in _links.Keys) Forget(id);
        return ValueTask.CompletedTask;
    }
}

using System.Buffers.Binary;
using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
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
    private readonly ILogger _logger;
    private readonly Socket _listener;
    private readonly ConcurrentDictionary<VmId, PeerLink> _links = new();
    private readonly ConcurrentDictionary<VmId, (string Host, int Port)> _endpoints = new();

    // Which VM each address this VM dialed turned out to be: a seed may be an alias, a relay or a load balancer.
    private readonly ConcurrentDictionary<string, VmId> _dialed = new();
    // VMs declared gone (silent past the grace period), by when: they may come back only as new VMs.
    private readonly ConcurrentDictionary<VmId, long> _fenced = new();
    private readonly ConcurrentBag<(string Host, int Port)> _seeds = [];
    // VMs heard of (by gossip or multicast) and not linked yet, since when: re-dialed by either side each second, for
    // the join timeout, so one failed dial (a handshake that timed out on a busy host) does not leave a pair unlinked.
    private readonly ConcurrentDictionary<VmId, (string Host, int Port, long Since)> _heard = new();
    private readonly CancellationTokenSource _stop = new();
    // Wakes the heartbeat thread before its time: evidence that a VM's process is gone.
    private readonly AutoResetEvent _wake = new(false);
    private readonly DialPool _dials = new();
    private readonly LogThrottle _refusals = new(TimeSpan.FromSeconds(10));
    private int _seedsJoined;
    private readonly TaskCompletionSource _seeded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly X509Certificate2? _certificate;
    private RiverVm _vm = null!;
    private MulticastDiscovery? _multicast;

    public TcpTransport(ClusterOptions options, ILogger logger)
    {
        options.Validate();
        Options = options;
        _logger = logger;
        if (options.Key is null) logger.NoClusterKey(options.Name);
        if (options.PlainFrames) logger.PlainFrames();
        _certificate = TlsChannel.Load(options);
        _listener = new Socket(options.Bind.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(options.Bind, options.Port));
        _listener.Listen(512);
        LocalEndPoint = (IPEndPoint)_listener.LocalEndPoint!;
    }

    public ClusterOptions Options { get; }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Completes once every seed has answered (or could not be reached in time).</summary>
    public Task Seeded => _seeded.Task;

    /// <summary>How many seeds took this VM in.</summary>
    public int SeedsJoined => Volatile.Read(ref _seedsJoined);

    /// <summary>Why each seed that did not take this VM in failed, by address.</summary>
    public ConcurrentDictionary<string, string> SeedFailures { get; } = new();

    public void Start(RiverVm vm)
    {
        _vm = vm;
        new Admission(_listener, (socket, remote, admitted) => Establish(socket, remote, outbound: false, expected: null, admitted: admitted), Refuse, _stop.Token).Start();
        new Thread(TickLoop) { IsBackground = true, Name = "River heartbeat" }.Start();
        _ = JoinSeedsAsync();
        if (Options.Multicast) _multicast = MulticastDiscovery.Start(this, vm, _logger);
    }

    public void Dial(VmInfo vm)
    {
        if (!Unlinked(vm.Id)) return;
        _heard.TryAdd(vm.Id, (vm.Host, vm.Port, Environment.TickCount64));
        if (DialsFirst(vm.Id)) _ = DialHeardAsync(vm.Id, vm.Host, vm.Port);
    }

    /// <summary>
    /// A VM announced itself by multicast: dialed as <see cref="Dial"/> does, but not kept for re-dials, since it
    /// announces itself again (and a replayed announcement, refused, makes no dial at all). True when it is unlinked
    /// and must dial this VM, which it may not have heard of: this VM should announce itself.
    /// </summary>
    internal bool DialAnnounced(VmInfo vm)
    {
        if (!Unlinked(vm.Id)) return false;
        if (!DialsFirst(vm.Id)) return true;
        _ = DialAsync(vm.Host, vm.Port, vm.Id);
        return false;
    }

    private bool Unlinked(VmId other) => other != _vm.Id && !_links.ContainsKey(other);

    private bool DialsFirst(VmId other) => Dials(_vm.Id, other);

    /// <summary>Of two VMs that hear of each other, the one with the smaller id dials: no duplicate connections.</summary>
    internal static bool Dials(VmId from, VmId to) => from.Value.CompareTo(to.Value) < 0;

    private async Task DialHeardAsync(VmId id, string host, int port)
    {
        // Nothing listens there, or it refused this VM: retrying would not change the answer.
        if (await DialAsync(host, port, id) is DialResult.Closed or DialResult.Refused) GiveUp(id);
    }

    private void GiveUp(VmId id)
    {
        if (_heard.TryRemove(id, out _) && !_links.ContainsKey(id)) _vm.GaveUpOn(id);
    }

    public IReadOnlyList<byte[]> Forget(VmId vm)
    {
        if (!_links.TryRemove(vm, out var link)) return [];
        var connection = link.Connection;
        var dropped = link.Close();
        connection?.Close("the VM left");
        return dropped;
    }

    /// <summary>The link to <paramref name="vm"/>, if any (tests close its connections under load).</summary>
    internal PeerLink? LinkTo(VmId vm) => _links.GetValueOrDefault(vm);

    public void AcknowledgeAll()
    {
        foreach (var link in _links.Values) link.SendAck();
    }

    /// <summary>Handles one frame: transport frames here, numbered ones counted and handed to the VM.</summary>
    internal bool OnFrame(TcpConnection connection, ReadOnlyMemory<byte> frame, Array? tail = null)
    {
        var link = connection.Link!;
        var kind = frame.Span[0];
        var bytes = frame.Length + (tail is null ? 0 : (int)Buffer.ByteLength(tail));
        link.NoteFrame(4 + bytes);
        if (tail is null)
        {
            switch (kind)
            {
                case Frames.HeartbeatKind:
                    return true;
                case Frames.AckKind when frame.Length == 9:
                    link.OnAck(BinaryPrimitives.ReadInt64LittleEndian(frame.Span[1..]));
                    return true;
                case Frames.ResumeKind when frame.Length == 9:
                    var received = BinaryPrimitives.ReadInt64LittleEndian(frame.Span[1..]);
                    if (link.OnResume(connection, received)) return true;
                    _logger.FrameRejected(link.RemoteId, $"it says it received {received} frames of this VM's, which cannot be");
                    return false;
            }
        }
        if (PeerLink.IsNumbered(kind)) link.NoteReceived(bytes);
        return _vm.OnFrame(link, frame, tail);
    }

    internal void OnFrameRejected(VmId from, string reason) => _logger.FrameRejected(from, reason);

    /// <summary>Logs what a transport thread met that it did not expect; the thread and the VM go on.</summary>
    internal void OnUnexpected(string activity, Exception e) => _logger.Unexpected(activity, e);

    internal void OnConnectionClosed(TcpConnection connection, string reason)
    {
        if (connection.Link is not { } link) return;
        link.Detach(connection);
        _logger.ConnectionClosed(link.RemoteId, reason);
        // A peer that never became a member (a tool, or one refused at its first frame) has nothing to resume.
        if (link.Connection is null && _vm.Membership.PeerOf(link.RemoteId) is null && _links.TryRemove(new(link.RemoteId, link)))
        {
            link.Close();
            return;
        }
        // Both sides re-dial (the acceptor a little later, so the dialer usually wins): a VM that was paused
        // past the grace period learns it was declared gone when the other side refuses it.
        if (!_stop.IsCancellationRequested && _links.TryGetValue(link.RemoteId, out var current) && current == link)
            _ = RedialAsync(link, connection.Remote!, connection.Outbound ? TimeSpan.FromMilliseconds(50) : TimeSpan.FromMilliseconds(300));
    }

    private async Task RedialAsync(PeerLink link, Handshake.Hello remote, TimeSpan delay)
    {
        await Task.Delay(delay, _stop.Token).ContinueWith(_ => { });
        while (!_stop.IsCancellationRequested && _links.TryGetValue(link.RemoteId, out var current) && current == link && link.Connection is null)
        {
            var result = await DialAsync(remote.Host, remote.Port, remote.Id);
            if (result is DialResult.Connected or DialResult.Refused) return;
            // Nothing listens where the VM did: its process is gone (a pause or a cut keeps the port, or times out). That is
            // evidence, not silence: the heartbeat thread suspects it at once, unless a connection from the other side came
            // meanwhile (the refusal is stale then).
            if (result == DialResult.Closed && link.Connection is null)
            {
                if (Interlocked.CompareExchange(ref link.ClosedSince, Environment.TickCount64, 0) == 0) _wake.Set();
            }
            else Volatile.Write(ref link.ClosedSince, 0);
            await Task.Delay(delay, _stop.Token).ContinueWith(_ => { });
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
        }
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
                SeedFailures[seed] = e.Message;
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

    // Seeds may still be starting: retry for the join timeout, then leave them to the heartbeat's re-dials.
    private async Task JoinSeedAsync(string host, int port)
    {
        var deadline = Environment.TickCount64 + (long)Options.JoinTimeout.TotalMilliseconds;
        while (Environment.TickCount64 < deadline && !_stop.IsCancellationRequested)
        {
            switch (await DialAsync(host, port, null, seed: true))
            {
                case DialResult.Connected:
                    Interlocked.Increment(ref _seedsJoined);
                    SeedFailures.TryRemove($"{host}:{port}", out _);
                    return;
                case DialResult.Refused: return; // logged; retrying would not change the answer
            }
            await Task.Delay(200, _stop.Token).ContinueWith(_ => { });
        }
        var silence = $"no answer within {Options.JoinTimeout.TotalSeconds:0.#} s";
        SeedFailures.TryAdd($"{host}:{port}", silence);
        _logger.SeedUnreachable($"{host}:{port}", silence);
    }

    /// <summary>Connects and authenticates on a thread of the dial pool (see <see cref="BlockingStream"/>).</summary>
    private Task<DialResult> DialAsync(string host, int port, VmId? expected, bool seed = false) => _dials.Dial($"{host}:{port}", () =>
    {
        var socket = new Socket(Options.Bind.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            Deadline.Connect(socket, host, port, Options.HandshakeTimeout);
        }
        catch (Exception e) when (e is SocketException or TimeoutException)
        {
            socket.Dispose();
            return e is SocketException { SocketErrorCode: SocketError.ConnectionRefused } ? DialResult.Closed : DialResult.Unreachable;
        }
        return Establish(socket, $"{host}:{port}", outbound: true, expected, seed);
    });

    /// <summary>
    /// Authenticates a new connection and adopts it; any failure closes it with a log line. Runs on a
    /// thread of its own with blocking I/O; a deadline closes a connection that is too slow.
    /// When the dial was for a <paramref name="seed"/>, its failure is remembered. An accepted connection is
    /// adopted only when <paramref name="admitted"/> says admission has not cut it meanwhile.
    /// </summary>
    private DialResult Establish(Socket socket, string remote, bool outbound, VmId? expected, bool seed = false, Func<bool>? admitted = null)
    {
        NetworkStream network;
        try
        {
            network = new NetworkStream(socket, ownsSocket: true);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            return DialResult.Unreachable; // cut by admission before this thread began
        }
        Stream stream = network;
        using var deadline = new Deadline(network, Options.HandshakeTimeout);
        try
        {
            socket.NoDelay = true;
            var (secured, binding) = TlsChannel.Secure(new BlockingStream(network), outbound, _certificate);
            stream = secured;
            var me = _vm.Info;
            var mine = new Handshake.Hello(ClusterOptions.ProtocolVersion, _vm.Id, Handshake.NewNonce(), me.Host, me.Port, Handshake.FlagsFor(Options));
            var session = (outbound
                ? Handshake.DialAsync(stream, Options, mine, binding, expected, CancellationToken.None, IsFenced)
                : Handshake.AcceptAsync(stream, Options, mine, binding, CancellationToken.None, IsFenced)).GetAwaiter().GetResult();
            if (!deadline.Complete()) throw new IOException("the handshake deadline passed");
            // Admission may have cut this connection to make room while it authenticated: it is adopted only if not.
            if (admitted?.Invoke() == false) throw new IOException("cut by admission to make room");
            stream = session.Wrap(stream, socket);
            if (outbound) _dialed[remote] = session.Theirs.Id;
            if (session.Theirs.Id == _vm.Id)
            {
                stream.Dispose(); // a seed list that names this VM itself
                return DialResult.Refused;
            }
            Adopt(new TcpConnection(socket, stream, this, outbound) { Remote = session.Theirs });
            return DialResult.Connected;
        }
        catch (Exception e)
        {
            stream.Dispose();
            var timedOut = deadline.HasExpired;
            var refused = e is HandshakeException or AuthenticationException;
            var reason = timedOut ? $"no handshake within {Options.HandshakeTimeout.TotalSeconds:0.#} s" : e.Message;
            if (seed) SeedFailures[remote] = refused ? $"refused: {reason}" : reason;
            if (e is HandshakeException { Fenced: true }) _vm.OnFenced($"{remote}: {reason}");
            Refuse(remote, reason);
            return refused && !timedOut ? DialResult.Refused : DialResult.Unreachable;
        }
    }

    /// <summary>Logs a refused connection, at most once per source address and interval (a flood writes a line, not a million).</summary>
    private void Refuse(string remote, string reason)
    {
        var source = remote.LastIndexOf(':') is var colon and > 0 ? remote[..colon] : remote;
        if (_refusals.ShouldLog(source, out var suppressed)) _logger.ConnectionRefused(remote, LogText.Escape(reason), suppressed);
    }

    private void Adopt(TcpConnection connection)
    {
        var id = connection.Remote!.Id;
        var link = _links.GetOrAdd(id, static (id, t) => new PeerLink(id, t), this);
        TcpConnection? existing, previous;
        lock (link)
        {
            existing = link.Connection is { IsClosed: false } live ? live : null;
            if (existing is not null)
            {
                // Both dialed at once: both sides keep the connection dialed by the smaller id. A new connection
                // from the same dialer replaces the old one, which went quiet (a cut) or is about to fail.
                var dialerOfNew = connection.Outbound ? _vm.Id : id;
                var dialerOfOld = existing.Outbound ? _vm.Id : id;
                if (dialerOfNew != dialerOfOld && dialerOfNew.Value.CompareTo(dialerOfOld.Value) > 0)
                {
                    connection.Close("a duplicate connection");
                    return;
                }
            }
            connection.Link = link;
            link.Detector.Heard(Environment.TickCount64);
            Volatile.Write(ref link.ClosedSince, 0);
            previous = link.Attach(connection);
        }
        _endpoints[id] = (connection.Remote.Host, connection.Remote.Port);
        _heard.TryRemove(id, out _);
        _vm.HeardOf(id);
        connection.StartReading(previous);
        _vm.Connect(link);
    }

    /// <summary>
    /// The heartbeat, on a thread of its own so a busy thread pool cannot delay it: sends heartbeats and
    /// acknowledgements, suspects VMs silent past what their link's detector allows or whose process is gone (they
    /// leave <c>Discover</c>, their links and what waits in them stay), declares those silent past the grace period
    /// gone (their links close, they are fenced), and re-dials seeds. A dialer whose connection went quiet opens a
    /// fresh one beside it, which resumes where the old one stopped. It wakes every heartbeat interval, or sooner
    /// when a link's silence becomes suspect in between, so a suspicion is not up to an interval late.
    /// </summary>
    private void TickLoop()
    {
        PeerLink.t_isTransportThread = true;
        var interval = (long)Options.HeartbeatInterval.TotalMilliseconds;
        var last = Environment.TickCount64;
        var lastRedial = last;
        var wait = interval;
        WaitHandle[] wakers = [_stop.Token.WaitHandle, _wake];
        while (WaitHandle.WaitAny(wakers, TimeSpan.FromMilliseconds(wait)) != 0)
        {
            var now = Environment.TickCount64;
            // Woken late: this VM itself was stalled (a GC pause, SIGSTOP, a starved host), and what it did not hear meanwhile
            // is its own fault, not the other VMs'. Lateness past a little timer jitter is excused, in proportion: an
            // observer whose own clock runs late blames others that much less (Lifeguard's local health).
            var stalledFrom = Math.Min(now, last + wait + StallSlack);
            last = now;
            try
            {
                wait = Tick(now, stalledFrom, ref lastRedial);
            }
            catch (Exception e)
            {
                wait = interval;
                _logger.Unexpected("sending heartbeats", e); // the heartbeat is the failure detector: it must outlive a bad tick
            }
        }
    }

    // Lateness of the heartbeat thread's own wake-ups that is not excused (milliseconds): ordinary timer jitter, which
    // would otherwise push every suspicion out by a few percent.
    private const long StallSlack = 50;

    /// <summary>One round of the heartbeat; returns how long to wait for the next (milliseconds).</summary>
    private long Tick(long now, long stalledFrom, ref long lastRedial)
    {
        var wait = (long)Options.HeartbeatInterval.TotalMilliseconds;
        foreach (var link in _links.Values)
        {
            var detector = link.Detector;
            if (stalledFrom < now) detector.Excuse(stalledFrom, now);
            var silent = detector.Silence(now);
            var allowed = detector.SuspectAfter();
            var closedSince = Volatile.Read(ref link.ClosedSince);
            var processGone = link.Connection is null && closedSince != 0;
            if (silent > Options.GracePeriod.TotalMilliseconds)
                Gone(link, now, $"nothing heard for {Options.GracePeriod.TotalSeconds:0.#} s (the grace period)");
            else if (processGone && link.Suspected && now - closedSince > Options.FailureTimeout.TotalMilliseconds)
                Gone(link, now, $"nothing has listened at its address for {Options.FailureTimeout.TotalSeconds:0.#} s: its process is gone");
            else if (processGone) Suspect(link, now, silent, "its connection closed and nothing listens at its address: its process is gone");
            else if (silent >= allowed)
                Suspect(link, now, silent, $"nothing heard for {silent / 1000.0:0.0#} s (allowed {allowed / 1000.0:0.0#} s by its gaps: phi {detector.Phi(silent):0.#})");
            else
            {
                if (link.Suspected && detector.LastHeard > link.SuspectedAt)
                {
                    Volatile.Write(ref link.SuspectedAt, 0);
                    _vm.RestoreMember(link.RemoteId);
                }
                wait = Math.Min(wait, allowed - silent);
            }
            if (link.Connection is null) continue;
            // Three quarters of an interval, not a whole one: the last heartbeat went a little after the last tick, so "a whole
            // interval since" missed every other tick and an idle link heard 2.4-2.9 heartbeats a second instead of 4.
            if (now - Volatile.Read(ref link.LastSent) >= Options.HeartbeatInterval.TotalMilliseconds * 3 / 4) link.SendHeartbeat();
            link.SendAck();
        }
        if (now - lastRedial >= 1000)
        {
            lastRedial = now;
            Redial(now);
        }
        return Math.Max(1, wait);
    }

    private void Suspect(PeerLink link, long now, long silent, string why)
    {
        if (!link.Suspected)
        {
            Volatile.Write(ref link.SuspectedAt, now);
            _vm.SuspectMember(link.RemoteId, why);
        }
        if (link.Connection is { Outbound: true } quiet && silent > 2 * Options.FailureTimeout.TotalMilliseconds && quiet.Remote is { } remote)
            _ = DialAsync(remote.Host, remote.Port, remote.Id);
    }

    /// <summary>Silent past the grace period, or its process gone: the VM is gone for good; should it come back, it is refused and must rejoin as a new VM.</summary>
    private void Gone(PeerLink link, long now, string why)
    {
        foreach (var (id, since) in _fenced)
            if (now - since > FenceMemory.TotalMilliseconds) _fenced.TryRemove(id, out _);
        _fenced[link.RemoteId] = now;
        _endpoints.TryRemove(link.RemoteId, out _);
        _vm.RemoveMember(link.RemoteId, $"{why}; it may return only as a new VM");
    }

    // How long a VM declared gone is remembered and refused.
    private static readonly TimeSpan FenceMemory = TimeSpan.FromHours(1);

    /// <summary>True for a VM this one declared gone: it is refused at the handshake.</summary>
    internal bool IsFenced(VmId id) => _fenced.ContainsKey(id);

    private void Redial(long now)
    {
        var linked = _links.Keys.Select(id => _endpoints.GetValueOrDefault(id)).ToHashSet();
        foreach (var seed in _seeds)
        {
            var reached = _dialed.TryGetValue($"{seed.Host}:{seed.Port}", out var id) && _links.ContainsKey(id);
            if (!reached && !linked.Contains(seed)) _ = DialAsync(seed.Host, seed.Port, null);
        }
        foreach (var (id, heard) in _heard)
        {
            if (_links.ContainsKey(id)) _heard.TryRemove(id, out _);
            else if (IsFenced(id) || now - heard.Since > Options.JoinTimeout.TotalMilliseconds) GiveUp(id);
            // A second old and still no link: the first dial failed, or the other side's never came.
            else if (now - heard.Since >= 1000) _ = DialHeardAsync(id, heard.Host, heard.Port);
        }
    }

    public ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested) return ValueTask.CompletedTask;
        _stop.Cancel();
        _multicast?.Dispose();
        _dials.Dispose();
        _listener.Dispose();
        foreach (var link in _links.Values) link.WaitDrained(TimeSpan.FromMilliseconds(500));
        foreach (var id in _links.Keys) Forget(id);
        return ValueTask.CompletedTask;
    }
}

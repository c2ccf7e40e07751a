using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using MessagePack;
using Microsoft.Extensions.Logging;

namespace River;

/// <summary>
/// A River VM: hosts VRs, routes their packets, deploys VRs for others and publishes its attributes.
/// Several can live in one process (<see cref="LocalCluster"/>); <c>river vm</c> runs one per process.
/// </summary>
/// <example><code>
/// await using var vm = new RiverVm();
/// await vm.RunAsync&lt;Hello&gt;(args);
/// </code></example>
public sealed class RiverVm : IAsyncDisposable
{
    private static readonly HashSet<string> BuiltInAttributes = [VmInfo.Cores, VmInfo.Os, VmInfo.Memory, VmInfo.Vrs, VmInfo.Load];

    private readonly VrTable _local = new();
    private readonly ConcurrentDictionary<string, object?> _attributes = new();

    private readonly CancellationTokenSource _stopping = new();
    private readonly RiverVmOptions _options;
    private readonly ILogger _logger;
    private readonly Timer _announcer;
    private readonly FailureLog _failures = new();
    private int _vrCountAnnounced;

    /// <summary>Creates a VM; it knows no other VM until a cluster or transport connects it.</summary>
    public RiverVm(RiverVmOptions? options = null)
    {
        _options = options ?? new RiverVmOptions();
        _logger = _options.LoggerFactory.CreateLogger("River.Vm");
        foreach (var (k, v) in _options.Attributes) _attributes[k] = v;
        Serializer = new RiverSerializer();
        Router = new Router(this, _logger);
        Monitors = new Monitors(this);
        Mirrors = new Mirrors(this, _logger);
        Checkpoints = new CheckpointAgent(this, _logger);
        Links = new Links(this);
        Deployer = new Deployer(this, new CodeCache(_options.CodeCacheDirectory ?? CodeCache.DefaultDirectory), _options, _logger);
        RefreshInfo();
        _announcer = new Timer(_ => Housekeeping(), null, 200, 200);
        RiverMetrics.Started(this);
    }

    /// <summary>This VM's name.</summary>
    public VmId Id { get; } = VmId.New();

    /// <summary>This VM as the cluster sees it now.</summary>
    public VmInfo Info => _info;

    // Refreshed on every attribute change and by housekeeping (VR count, load), so reading it is free.
    private VmInfo _info = null!;

    private void RefreshInfo() => _info = new(Id, _options.Host, _options.Port, CurrentAttributes());

    /// <summary>Fires when a VR starts on this VM.</summary>
    public event EventHandler<VrLifecycleEventArgs>? VrStarted;

    /// <summary>Fires when a VR on this VM ends; <see cref="VrLifecycleEventArgs.Error"/> says whether it failed.</summary>
    public event EventHandler<VrLifecycleEventArgs>? VrEnded;

    /// <summary>Packets that reached no VR (unknown id, ended VR, VM gone); each is also logged.</summary>
    public long Undeliverable => Router.Undeliverable;

    /// <summary>Packets received from other VMs.</summary>
    public long PacketsIn => Router.PacketsIn;

    /// <summary>Packets sent to other VMs.</summary>
    public long PacketsOut => Router.PacketsOut;

    /// <summary>VRs running on this VM now.</summary>
    public int VrCount => _local.Count;

    /// <summary>Packets queued for the VRs here, all together (a metric: it walks every VR).</summary>
    internal long QueuedPackets => _local.Values.Sum(v => (long)v.Mailbox.Count);

    /// <summary>The longest queue of a VR here.</summary>
    internal long LongestQueue => _local.Values.Select(v => (long)v.Mailbox.Count).DefaultIfEmpty().Max();

    /// <summary>Fires when this VM is stopping.</summary>
    public CancellationToken Stopping => _stopping.Token;

    internal RiverSerializer Serializer { get; }
    internal Router Router { get; }
    internal Monitors Monitors { get; }
    internal Mirrors Mirrors { get; }
    internal CheckpointAgent Checkpoints { get; }

    /// <summary>
    /// An extension's hooks into sending, delivery and VR start (checkpointing sets them once a run it
    /// keeps reached this VM); null costs the hot paths one check.
    /// </summary>
    internal IRuntimeHooks? Hooks { get; set; }

    internal Links Links { get; }
    internal Deployer Deployer { get; }
    internal Membership Membership { get; } = new();
    internal PacketObservers Observers { get; } = new();
    internal ILoggerFactory LoggerFactory => _options.LoggerFactory;

    /// <summary>The transport that joined this VM to a networked cluster; null for embedded VMs.</summary>
    internal INetwork? Network { get; private set; }

    /// <summary>
    /// Starts a VM that listens on the network and joins the cluster <paramref name="cluster"/> names:
    /// through its seeds, by multicast, or by waiting for others to find it.
    /// Returns once every seed has answered (or could not be reached) and each VM the seeds listed is a member and has sent
    /// its own list, or was given up on (nothing listens there, or no link within <see cref="ClusterOptions.JoinTimeout"/>):
    /// the first <c>Discover</c> sees the cluster the seeds knew.
    /// With <see cref="ClusterOptions.RequireSeeds"/>, throws <see cref="ClusterJoinException"/> when no seed took it in.
    /// </summary>
    public static async Task<RiverVm> JoinAsync(ClusterOptions cluster, RiverVmOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        options ??= new RiverVmOptions();
        var logger = options.LoggerFactory.CreateLogger("River.Transport");
        var transport = new TcpTransport(cluster, logger);
        options.Host = transport.LocalEndPoint.Address.ToString();
        options.Port = transport.LocalEndPoint.Port;
        var vm = new RiverVm(options) { Network = transport };
        transport.Start(vm);
        logger.Listening(vm.Id, transport.LocalEndPoint.ToString(), cluster.Name);
        await transport.Seeded.WaitAsync(cluster.JoinTimeout + TimeSpan.FromSeconds(5)).ContinueWith(_ => { });
        if (cluster.RequireSeeds && cluster.Seeds.Count > 0 && transport.SeedsJoined == 0)
        {
            var answers = string.Join("; ", transport.SeedFailures.Select(f => $"{f.Key}: {f.Value}"));
            await vm.DisposeAsync();
            throw new ClusterJoinException($"Could not join cluster '{cluster.Name}': no seed took this VM in ({answers}).");
        }
        if (cluster.RequireSeeds && cluster.Seeds.Count == 0 && cluster.Multicast
            && !await vm.HearOfOthersAsync(cluster.JoinTimeout))
        {
            await vm.DisposeAsync();
            throw new ClusterJoinException($"Could not join cluster '{cluster.Name}': no VM of it was heard by multicast within {cluster.JoinTimeout.TotalSeconds:0.#} s.");
        }
        // Multicast announcements come once a second: give every VM the chance to be heard. Through seeds, what the seeds
        // listed is the cluster, and the join ends as soon as each VM they named is reached or given up on.
        var quiet = cluster.Multicast ? TimeSpan.FromMilliseconds(1500) : TimeSpan.Zero;
        await vm.SettleAsync(quiet, cluster.JoinTimeout);
        return vm;
    }

    /// <summary>True once another VM is a member; false when none is within <paramref name="limit"/>.</summary>
    private async Task<bool> HearOfOthersAsync(TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (Membership.Snapshot().Count == 0)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) return false;
            await Task.WhenAny(Membership.Changed, Task.Delay(left));
        }
        return true;
    }

    /// <summary>
    /// Waits until every VM heard of (linked, or named by gossip) has joined and sent its member list or was given up on
    /// (see <see cref="Membership.GiveUp"/>), and membership has not changed for <paramref name="quiet"/> (at most
    /// <paramref name="limit"/>), so the first <c>Discover</c> sees the cluster.
    /// </summary>
    private async Task SettleAsync(TimeSpan quiet, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            var changed = Membership.Changed;
            var waiting = !Membership.Settled;
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !waiting && quiet == TimeSpan.Zero) return;
            if (await Task.WhenAny(changed, Task.Delay(waiting ? left : quiet)) != changed && !waiting) return;
        }
    }

    /// <summary>The transport linked this VM to VM <paramref name="id"/>: it becomes a member once its Announce is read.</summary>
    internal void HeardOf(VmId id) => Membership.HeardOf(id);

    /// <summary>The transport could not reach VM <paramref name="id"/>, heard of by gossip or multicast: a join waits for it no longer.</summary>
    internal void GaveUpOn(VmId id) => Membership.GiveUp(id);

    /// <summary>Adds an observer of every packet sent from or delivered to this VM.</summary>
    public void AddPacketObserver(IPacketObserver observer) => Observers.Add(observer);

    /// <summary>Starts <typeparamref name="TVr"/> here as an initiator (no parent) and returns its id.</summary>
    public VrId Start<TVr>(IReadOnlyList<string>? args = null, params object?[] deployArgs) where TVr : VirtualResourceBase =>
        Start(typeof(TVr), args, deployArgs).Id;

    /// <summary>Runs <typeparamref name="TVr"/> here as the initiator until it ends; rethrows its failure.</summary>
    public Task RunAsync<TVr>(IReadOnlyList<string>? args = null, params object?[] deployArgs) where TVr : VirtualResourceBase =>
        Start(typeof(TVr), args, deployArgs).Ended;

    /// <summary>
    /// Runs <paramref name="body"/> as a VR of its own on this VM, as Erlang spawns a fun: it gets an id and a
    /// queue, and can <c>Send</c>, <c>RecvAsync</c>, <c>Deploy</c>, <c>Monitor</c> like any VR. This is how code outside
    /// VRs (a web endpoint, a script, a test) talks to VRs. The task ends with the body's result, or its failure.
    /// </summary>
    /// <example><code>
    /// var sum = await vm.Spawn(async me =&gt;
    /// {
    ///     me.Send(adder, new { tag = "add", a = 2, b = 3 });
    ///     return (await me.RecvAsync(new { tag = "sum" })).Get&lt;int&gt;("value");
    /// });
    /// </code></example>
    public Task<T> Spawn<T>(Func<AsyncVirtualResource, Task<T>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var vr = new SpawnedVr<T>(body);
        StartLocal(vr, VrId.New(), null, [], [], new ProgramRun.Ref(RandomIds.Next(), null));
        return vr.Result;
    }

    /// <summary>As <see cref="Spawn{T}"/>, for a body without a result.</summary>
    public Task Spawn(Func<AsyncVirtualResource, Task> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return Spawn<bool>(async me =>
        {
            await body(me);
            return true;
        });
    }

    private VrContext Start(Type type, IReadOnlyList<string>? args, object?[] deployArgs) =>
        StartInitiator(type, VrId.New(), RandomIds.Next(), args ?? [], deployArgs);

    /// <summary>Starts an initiator of a given id in a given run (a run restarted from a checkpoint keeps both).</summary>
    internal VrContext StartInitiator(Type type, VrId id, Guid run, IReadOnlyList<string> args, object?[]? deployArgs = null)
    {
        VrFactory.Check(type);
        Serializer.AllowList.AllowProgram(type);
        return StartLocal(type, id, null, args, CopyArgs(deployArgs ?? []), new ProgramRun.Ref(run, null));
    }

    internal bool TryGetLocal(VrId id, out VrContext context) => _local.TryGetValue(id, out context!);

    /// <summary>The load context a local VR's values resolve in (its program's shipped code), if any.</summary>
    private AssemblyLoadContext? ContextOf(VrId id) => _local.TryGetValue(id, out var c) ? c.Run.Code : null;

    private Func<VrId, AssemblyLoadContext?>? _contextOf; // one delegate, not one per packet read

    // A VR's sends go through PacketTracing when someone listens to River's spans or the sender is in a span of its own.
    // Without tracing or hooks, a remote send may not need a Packet object at all (Router.TrySendDirect).
    internal void Send(VrId src, VrId? dest, object attributes, TimeSpan? wait = null)
    {
        AttributeReader.ReadBorrowed(attributes, out var names, out var values, out var destAttr, out var borrowed);
        try
        {
            var to = Receiver(dest, destAttr);
            var tracing = PacketTracing.Active;
            if (!tracing && Hooks is null && Router.TrySendDirect(src, to, names, values, wait)) return;
            var packet = new Packet(src, to, names, borrowed ? [.. values] : values);
            if (tracing) PacketTracing.Send(this, packet, wait);
            else Route(packet, wait);
        }
        finally
        {
            if (borrowed) AttributeReader.GiveBack(values);
        }
    }

    internal ValueTask SendAsync(VrId src, VrId? dest, object attributes, TimeSpan wait, CancellationToken cancel)
    {
        var packet = MakePacket(src, dest, attributes);
        return PacketTracing.Active ? PacketTracing.SendAsync(this, packet, wait, cancel) : RouteAsync(packet, wait, cancel);
    }

    /// <summary>Routes a packet a local VR sends, through the hooks (<see cref="IRuntimeHooks.Sending"/>, <see cref="IRuntimeHooks.Keeps"/>).</summary>
    internal void Route(Packet packet, TimeSpan? wait)
    {
        if (Hooks is not { } hooks)
        {
            Router.Send(packet, wait);
            return;
        }
        packet = hooks.Sending(packet);
        try
        {
            Router.Send(packet, wait);
        }
        catch (VmGoneException e)
        {
            if (!hooks.Keeps(packet, e.Vm)) throw; // not in a filter: keeping it may wait, and a throw there would be swallowed
        }
    }

    /// <inheritdoc cref="Route"/>
    internal ValueTask RouteAsync(Packet packet, TimeSpan wait, CancellationToken cancel) =>
        Hooks is { } hooks ? RouteHookedAsync(hooks, hooks.Sending(packet), wait, cancel) : Router.SendAsync(packet, wait, cancel);

    private async ValueTask RouteHookedAsync(IRuntimeHooks hooks, Packet packet, TimeSpan wait, CancellationToken cancel)
    {
        try
        {
            await Router.SendAsync(packet, wait, cancel).ConfigureAwait(false);
        }
        catch (VmGoneException e)
        {
            if (!hooks.Keeps(packet, e.Vm)) throw;
        }
    }

    private static Packet MakePacket(VrId src, VrId? dest, object attributes)
    {
        AttributeReader.Read(attributes, out var names, out var values, out var destAttr);
        return new Packet(src, Receiver(dest, destAttr), names, values);
    }

    private static VrId Receiver(VrId? dest, VrId? destAttr)
    {
        if (dest is { } d && destAttr is { } a && d != a)
            throw new ArgumentException($"Send was given receiver {d} but the attributes name 'dest' {a}; give one.");
        return dest ?? destAttr ?? throw new ArgumentException("Send(attributes) needs a 'dest' attribute holding the receiver's VrId.");
    }

    internal IReadOnlyList<VmInfo> Discover(object? where, TimeSpan? wait, int atLeast = 1)
    {
        var match = Matcher.From(where);
        var deadline = DateTime.UtcNow + (wait ?? TimeSpan.Zero);
        while (true)
        {
            var changed = Membership.Changed;
            List<VmInfo> found = [.. Membership.Snapshot().Select(m => m.Info).Where(i => i.Id != Id).Prepend(Info).Where(i => match.Matches(i.Attributes))];
            var left = deadline - DateTime.UtcNow;
            if (found.Count >= atLeast || left <= TimeSpan.Zero) return found;
            changed.Wait(left);
        }
    }

    internal void SetAttribute(string name, object? value)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (BuiltInAttributes.Contains(name))
            throw new ArgumentException($"VM attribute '{name}' is maintained by the runtime and cannot be set.");
        _attributes[name] = Serializer.Copy(name, value);
        RefreshInfo();
        Announce();
    }

    internal object?[] CopyArgs(object?[] args)
    {
        if (args.Length == 0) return [];
        var copy = new object?[args.Length];
        for (var i = 0; i < args.Length; i++) copy[i] = Serializer.Copy($"args[{i}]", args[i]);
        return copy;
    }

    internal VrContext StartLocal(Type type, VrId id, VrId? parent, IReadOnlyList<string> args, object?[] deployArgs, ProgramRun.Ref run) =>
        StartLocal(VrFactory.Create(type), id, parent, args, deployArgs, run);

    /// <summary>Starts a VR object (made by <see cref="VrFactory"/>, or given by a library through <c>Start</c>/<c>Spawn</c>).</summary>
    internal VrContext StartLocal(VirtualResourceBase vr, VrId id, VrId? parent, IReadOnlyList<string> args, object?[] deployArgs, ProgramRun.Ref run)
    {
        ObjectDisposedException.ThrowIf(_stopping.IsCancellationRequested, this);
        if (vr is not (VirtualResource or AsyncVirtualResource)) throw new ArgumentException($"{vr.GetType().FullName} is not a VirtualResource or an AsyncVirtualResource.");
        if (Interlocked.CompareExchange(ref vr.Started, 1, 0) != 0) throw new InvalidOperationException($"This {vr.GetType().Name} was started already; a VR object runs once.");
        var type = vr.GetType();
        var context = new VrContext(this, id, parent, args, deployArgs, vr, run, _options);
        run.Code?.AddVr();
        vr.Attach(context);
        _local.Set(context);
        VrStarted?.Invoke(this, new VrLifecycleEventArgs(id, type, parent, null));
        // An extension may prepare the VR (restored state) and hold its start until the cluster is ready for it.
        if (Hooks?.Starting(context) is { IsCompleted: false } hold) hold.ContinueWith(_ => Launch(context), TaskScheduler.Default);
        else Launch(context);
        return context;
    }

    private void Launch(VrContext context)
    {
        switch (context.Instance)
        {
            case VirtualResource thread:
                new Thread(() => RunThread(context, thread)) { IsBackground = true, Name = $"VR {thread.GetType().Name}" }.Start();
                break;
            case AsyncVirtualResource:
                context.LaunchAsync();
                break;
        }
    }

    private void RunThread(VrContext context, VirtualResource vr)
    {
        Exception? error = null;
        Corking.Enter();
        try
        {
            vr.Run();
        }
        catch (Exception e)
        {
            error = e;
        }
        Corking.Flush();
        Finish(context, error);
    }

    internal void Finish(VrContext context, Exception? error)
    {
        var stopped = error is OperationCanceledException && (_stopping.IsCancellationRequested || context.Killed);
        Monitors.OnEnded(context.Id, stopped ? new OperationCanceledException("killed (river kill, or its VM stopping)") : error);
        _local.Remove(context); // not a restarted VR of the same id
        context.Mailbox.Close();
        Router.Ended(context);
        Deployer.Release(context.Run);
        if (error is not null && !stopped)
        {
            _logger.VrFailed(context.Id, context.Instance.GetType().FullName!, error);
            _failures.Add(FailureKind.VrFailed, context.Id, $"{context.Instance.GetType().FullName}: {error.GetType().Name}: {error.Message}");
        }
        VrEnded?.Invoke(this, new VrLifecycleEventArgs(context.Id, context.Instance.GetType(), context.Parent, error));
        context.End(stopped ? null : error);
    }

    /// <summary>Connects this VM to another through <paramref name="peer"/> and introduces itself.</summary>
    internal void Connect(IPeer peer) => peer.Send(AnnounceFrame());

    /// <summary>This VM's <see cref="Announce"/>, as a frame.</summary>
    private ReadOnlySpan<byte> AnnounceFrame() => Frames.Control(Serializer, new Announce(Info, Membership.Introduced));

    /// <summary>Handles one frame from <paramref name="from"/>; a bad frame is logged and dropped, and the VM carries on.</summary>
    internal bool OnFrame(IPeer from, ReadOnlyMemory<byte> frame, Array? tail = null)
    {
        try
        {
            var kind = frame.Length > 0 ? frame.Span[0] : (byte)0;
            switch (kind)
            {
                case Frames.PacketKind or Frames.SequencedKind or Frames.CheckpointedKind:
                    Router.Receive(ReadPacket(frame, tail), from, frame.Length + (tail is null ? 0 : (int)Buffer.ByteLength(tail)));
                    return true;
                case Frames.ControlKind when tail is null:
                    OnControl(from, Serializer.ReadValue(frame[1..]));
                    return true;
                default:
                    throw new MessagePackSerializationException($"unknown frame kind {kind}");
            }
        }
        catch (Exception e)
        {
            // Whatever a peer sends, a bad frame costs it its connection, never this VM.
            // Bad input is told in one escaped line (its text may come from the peer); anything else is a bug here, with its stack.
            var badInput = e is MessagePackSerializationException or TypeAccessException or InvalidDataException or DeployException;
            _logger.BadFrame(from.RemoteId, LogText.Escape(e.Message), badInput ? null : e);
            return false;
        }
    }

    /// <summary>Reads a packet frame (kind 1, 6 or 7), its values resolved in the load context of its receiver's program.</summary>
    internal Packet ReadPacket(ReadOnlyMemory<byte> frame, Array? tail = null) => Frames.ReadPacket(Serializer, frame, _contextOf ??= ContextOf, tail);

    private void OnControl(IPeer from, object? message)
    {
        switch (message)
        {
            case Announce a when a.Info is null || a.Info.Id != from.RemoteId:
                throw new MessagePackSerializationException($"an Announce for VM {a.Info?.Id} on the link of VM {from.RemoteId}");
            case Announce a:
                var added = Membership.Upsert(a.Info, from);
                if (added)
                {
                    _logger.MemberJoined(a.Info.Id, LogText.Escape(a.Info.Host), a.Info.Port);
                    from.Send(AnnounceFrame());
                    if (Network is not null) Gossip(a.Info, from, tellOthers: !a.Introduced);
                }
                break;
            case Members m:
                Membership.Listed(from.RemoteId, m.Vms.Select(vm => vm.Id).Where(id => id != Id));
                foreach (var vm in m.Vms) Network?.Dial(vm);
                break;
            case DeployRequest d:
                if (d.Parent is { } parent)
                {
                    if (d.ParentVm is { } parentVm) Router.Learn(parent, parentVm);
                    else Router.Learn(parent, from);
                }
                from.Send(Frames.Control(Serializer, Deployer.StartRequested(d)));
                break;
            case CodeUpload c:
                Deployer.OnCodeUpload(c);
                break;
            case DeployReply r:
                Deployer.OnReply(r);
                break;
            case Lookup l:
                Router.OnLookup(l, from);
                break;
            case LookupReply l:
                Router.OnLookupReply(l, from.RemoteId);
                break;
            case Credit c:
                Router.OnCredit(c, from);
                break;
            case StatusRequest:
                from.Send(Frames.Control(Serializer, new StatusReply(Status())));
                break;
            case KillRequest k:
                from.Send(Frames.Control(Serializer, new KillReply(k.Id, Kill(k.Id))));
                break;
            case KillReply:
                break; // a supervisor's kill of a sibling needs no answer
            case IMirrorMessage m:
                Mirrors.OnControl(from, m);
                break;
            case MonitorRequest or MonitorAnswer or DemonitorRequest or Down:
                Monitors.OnControl(from, message);
                break;
            case ICheckpointMessage c:
                Checkpoints.OnControl(from, c);
                break;
            case UnlinkRequest u:
                Links.OnUnlink(u);
                break;
            case Goodbye g when g.Id != from.RemoteId:
                throw new MessagePackSerializationException($"a Goodbye for VM {g.Id} on the link of VM {from.RemoteId}");
            case Goodbye g:
                RemoveMember(g.Id, "it said goodbye", failed: false);
                break;
            default:
                throw new MessagePackSerializationException($"unexpected control message {message?.GetType().Name ?? "null"}");
        }
    }

    /// <summary>This VM's state now: its VRs and their queues, its links and their counters, the members it knows, its recent failures.</summary>
    public VmStatus Status() => new(
        Info,
        [.. _local.Values.Select(v => new VrStatus(v.Id, v.Instance.GetType().FullName!, v.Parent, v.Mailbox.Count))],
        [.. Membership.Peers().OfType<PeerLink>().Select(l => new LinkStatus(
            l.RemoteId, l.State, l.FramesSent, l.FramesReceived, l.BytesSent, l.BytesReceived, l.TotalBytesSent, l.TotalBytesReceived))],
        PacketsIn, PacketsOut, Undeliverable,
        [.. Membership.Snapshot().Select(m => m.Info)],
        _failures.Snapshot());

    /// <summary>Ends a VR on this VM: its queue closes (its next receive throws) and an async VR's token fires.</summary>
    public bool Kill(VrId id)
    {
        if (!_local.TryGetValue(id, out var vr)) return false;
        vr.Kill();
        return true;
    }

    /// <summary>
    /// Tells a new member about the others, and, unless <paramref name="tellOthers"/> is false (VMs it linked to first did),
    /// the others about it, so every pair connects. Only members that dial it hear the news: those of smaller ids
    /// (<see cref="TcpTransport.Dials"/>); it dials the others itself, from the list. Telling every member made a cluster
    /// starting at once send N³ messages (docs/FAULT-TOLERANCE.md, "Gossip while a cluster forms").
    /// </summary>
    private void Gossip(VmInfo joined, IPeer link, bool tellOthers = true)
    {
        var members = Membership.Snapshot();
        link.Send(Frames.Control(Serializer, new Members([.. members.Select(m => m.Info).Where(i => i.Id != joined.Id)])));
        if (!tellOthers) return;
        var news = Frames.Control(Serializer, new Members([joined])).ToArray();
        foreach (var m in members)
            if (TcpTransport.Dials(m.Info.Id, joined.Id)) m.Peer?.Send(news);
    }

    internal void RemoveMember(VmId id, string reason, bool failed = true)
    {
        var dropped = Network?.Forget(id) ?? [];
        if (!Membership.Remove(id)) return;
        _logger.MemberLeft(id, reason);
        if (failed) _failures.Add(FailureKind.VmLost, id, reason);
        Router.OnMemberLeft(id, reason);
        Monitors.OnVmLost(id);
        Mirrors.OnVmGone(id);
        Checkpoints.OnVmGone(id);
        TellSenders(id, dropped);
    }

    /// <summary>A member fell silent past the failure timeout: it leaves <c>Discover</c>; its link and routes stay for the grace period.</summary>
    internal void SuspectMember(VmId id, string reason)
    {
        if (!Membership.Suspect(id, true)) return;
        _logger.MemberSuspected(id, reason);
        _failures.Add(FailureKind.VmSuspected, id, reason);
        Monitors.OnVmLost(id);
    }

    /// <summary>A suspected member was heard again within the grace period: nothing was lost.</summary>
    internal void RestoreMember(VmId id)
    {
        if (!Membership.Suspect(id, false)) return;
        _logger.MemberBack(id);
        // Gossip left it out while it was suspected: VMs that joined meanwhile learn of it now, and it of them.
        if (Network is not null && Membership.Snapshot().FirstOrDefault(m => m.Info.Id == id) is { Peer: { } peer } back) Gossip(back.Info, peer);
    }

    /// <summary>
    /// Packets that were on their way to a VM declared gone: each local VR that sent some gets one packet
    /// <c>{ tag = "river.undeliverable", vm, count }</c> saying how many, and the VM logs one line.
    /// </summary>
    private void TellSenders(VmId gone, IReadOnlyList<byte[]> dropped)
    {
        var bySender = new Dictionary<VrId, int>();
        foreach (var frame in dropped.Where(f => Frames.IsPacket(f[0])))
        {
            var pos = Frames.PacketOffset(frame[0]);
            var src = new VrId(WireSpan.ReadGuid(frame, ref pos));
            bySender[src] = bySender.GetValueOrDefault(src) + 1;
        }
        if (bySender.Count == 0) return;
        _logger.InFlightLost(gone, bySender.Values.Sum(), bySender.Count);
        foreach (var (src, count) in bySender)
            if (_local.TryGetValue(src, out var sender))
                sender.Mailbox.Post(new Packet(default, src, UndeliverableNames, [UndeliverableTag, gone, count]));
    }

    private static readonly string[] UndeliverableNames = ["tag", "vm", "count"];

    /// <summary>The tag of the packet a VR gets when packets it sent were lost with a VM declared gone.</summary>
    public const string UndeliverableTag = "river.undeliverable";

    private readonly TaskCompletionSource _fenced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Completes when the cluster declared this VM gone (it was silent past the grace period) and refused it on
    /// its return: its VRs have been ended, and it may take part again only as a new VM. <c>river vm</c> then
    /// starts a new VM in its place.
    /// </summary>
    public Task Fenced => _fenced.Task;

    /// <summary>A member refused this VM as one it declared gone: end every VR here, so no stale copy goes on.</summary>
    internal void OnFenced(string by)
    {
        if (!_fenced.TrySetResult()) return;
        _logger.Fenced(LogText.Escape(by), _local.Count);
        foreach (var vr in _local.Values) vr.Kill();
    }

    private Dictionary<string, object?> CurrentAttributes()
    {
        var a = new Dictionary<string, object?>(_attributes)
        {
            [VmInfo.Cores] = Environment.ProcessorCount,
            [VmInfo.Os] = OperatingSystem.IsLinux() ? "linux" : OperatingSystem.IsWindows() ? "windows" : OperatingSystem.IsMacOS() ? "osx" : RuntimeInformation.OSDescription,
            [VmInfo.Memory] = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes,
            [VmInfo.Vrs] = _local.Count,
            [VmInfo.Load] = LoadAverage(),
        };
        return a;
    }

    private static double LoadAverage()
    {
        try
        {
            return OperatingSystem.IsLinux() && double.TryParse(File.ReadAllText("/proc/loadavg").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture, out var load) ? load : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private void Announce()
    {
        _vrCountAnnounced = _local.Count;
        var frame = AnnounceFrame().ToArray();
        foreach (var peer in Membership.Peers()) peer.Send(frame);
    }

    // VR counts change too often to announce each change; they are published at most every 200 ms.
    private void Housekeeping()
    {
        try
        {
            RefreshInfo();
            if (_local.Count != _vrCountAnnounced) Announce();
            Router.ExpireLookups();
            Monitors.Expire();
        }
        catch (Exception e)
        {
            _logger.Unexpected("housekeeping", e); // a timer callback: an exception here would end the process
        }
    }

    /// <summary>Tells peers goodbye, stops async VRs, wakes thread VRs blocked in <c>Recv</c> and releases every queue.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested) return;
        RiverMetrics.Stopped(this);
        await _announcer.DisposeAsync();
        Network?.AcknowledgeAll(); // before the goodbye, on the same links: what this VM received is not counted lost
        var goodbye = Frames.Control(Serializer, new Goodbye(Id)).ToArray();
        foreach (var peer in Membership.Peers()) peer.Send(goodbye);
        if (Network is not null) await Network.DisposeAsync();
        _stopping.Cancel();
        foreach (var vr in _local.Values) vr.Stop();
        await Task.WhenAny(Task.WhenAll(_local.Values.Select(v => v.Ended).ToList()).ContinueWith(_ => { }), Task.Delay(2000));
        await Task.WhenAny(Checkpoints.StoredAsync(), Task.Delay(5000)); // StoreAsync logs its own failures
    }
}

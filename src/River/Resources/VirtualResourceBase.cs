namespace River;

/// <summary>
/// What every virtual resource can do, whatever runs its body: its name and family, discovery,
/// deployment and sending. <see cref="VirtualResource"/> adds a thread and blocking receive,
/// <see cref="AsyncVirtualResource"/> a task and <c>RecvAsync</c>.
/// </summary>
public abstract class VirtualResourceBase
{
    private VrContext? _context;

    internal VrContext Context => _context ?? throw new InvalidOperationException(
        "This VR has not been started by a River VM; use Deploy, RiverApp.RunAsync or RiverVm.Start.");

    internal void Attach(VrContext context) => _context = context;

    internal int Started; // set once by the VM that starts this object: a VR object runs once

    /// <summary>This VR's UUID name.</summary>
    public VrId Id => Context.Id;

    /// <summary>The VR that deployed this one; <c>null</c> for the initiator.</summary>
    public VrId? Parent => Context.Parent;

    /// <summary>The program's arguments.</summary>
    public IReadOnlyList<string> Args => Context.Args;

    /// <summary>The values given to <c>Deploy</c> for this VR (copied, as the types they were given as).</summary>
    public object?[] DeployArgs => Context.DeployArgs;

    /// <summary>
    /// True when this instance was restarted from a checkpoint (<c>--checkpoint-dir</c>, <c>--restart</c>): its fields
    /// hold the values saved at its last <c>Checkpoint()</c> of the round restored, and <c>Main</c> runs again from the top.
    /// </summary>
    protected bool Restored => Context.Restored;

    /// <summary>The VM this VR runs on.</summary>
    public VmInfo Vm => Context.Vm.Info;

    /// <summary>The VMs known now, this one included; <paramref name="where"/> filters on VM attributes like a <c>Recv</c> match.</summary>
    /// <param name="where">a match object on VM attributes, e.g. <c>new { os = "linux" }</c>.</param>
    /// <param name="wait">wait up to this long for at least one matching VM.</param>
    public IReadOnlyList<VmInfo> Discover(object? where = null, TimeSpan? wait = null) => Discover(1, wait ?? TimeSpan.Zero, where);

    /// <summary>
    /// The VMs known once at least <paramref name="atLeast"/> match <paramref name="where"/> (this one counts), or when
    /// <paramref name="wait"/> has passed, whichever comes first: a program that needs N VMs waits for them to join.
    /// </summary>
    /// <example><code>var vms = Discover(4, TimeSpan.FromSeconds(10)); // this VM and three others, or fewer after 10 s</code></example>
    public IReadOnlyList<VmInfo> Discover(int atLeast, TimeSpan wait, object? where = null) =>
        Context.Checked.Replica is { } replica ? replica.Discover(() => Context.Vm.Discover(where, wait, atLeast)) : Context.Vm.Discover(where, wait, atLeast);

    /// <summary>Starts one <typeparamref name="TVr"/> on each VM; returns their ids in the same order.</summary>
    /// <exception cref="ArgumentException"><typeparamref name="TVr"/> has no parameterless constructor, or an argument cannot be carried.</exception>
    /// <exception cref="DeployException">a VM refused or failed to start the VR.</exception>
    public IReadOnlyList<VrId> Deploy<TVr>(IEnumerable<VmInfo> vms, params object?[] args) where TVr : VirtualResourceBase =>
        Context.Checked.Vm.Deployer.Deploy(typeof(TVr), vms, Context, args);

    /// <summary>Starts one <typeparamref name="TVr"/> on <paramref name="vm"/>.</summary>
    public VrId Deploy<TVr>(VmInfo vm, params object?[] args) where TVr : VirtualResourceBase =>
        Context.Checked.Vm.Deployer.Deploy(typeof(TVr), [vm], Context, args)[0];

    /// <summary>Starts one VR of a type known only at run time on each VM.</summary>
    public IReadOnlyList<VrId> Deploy(Type vrType, IEnumerable<VmInfo> vms, params object?[] args) =>
        Context.Checked.Vm.Deployer.Deploy(vrType, vms, Context, args);

    /// <summary>
    /// Starts one <typeparamref name="TVr"/> as a replica on each of <paramref name="vms"/> (2 or more, distinct) under one
    /// id, and returns it. Every replica receives the same packets in the same order, and other VRs see each packet it
    /// sends once; when a replica's VM dies the VR goes on under the same id, with no packet lost or repeated. The
    /// first VM's replica starts as the primary. Its <c>Main</c> must be deterministic given the packets it receives
    /// (<c>TryRecv</c>, <c>Peek</c>, a timed <c>Recv</c> and <c>Discover</c> are decided by the primary for all).
    /// </summary>
    /// <example><code>
    /// var counter = DeployMirrored&lt;Counter&gt;(Discover().Take(2).ToList());
    /// Send(counter, new { tag = "add", n = 5 });
    /// </code></example>
    /// <exception cref="ArgumentException">fewer than 2 VMs, or a VM twice.</exception>
    /// <exception cref="DeployException">a VM refused or failed to start its replica.</exception>
    public VrId DeployMirrored<TVr>(IReadOnlyList<VmInfo> vms, params object?[] args) where TVr : VirtualResourceBase =>
        Context.Checked.Vm.Mirrors.Deploy(typeof(TVr), vms, Context, args);

    /// <summary>
    /// Starts another replica of the mirrored VR <paramref name="vr"/> on <paramref name="vm"/> (a VM without one), for
    /// instance to replace one whose VM died. Its primary deploys it with the same type and arguments and sends it the
    /// VR's whole ordered log, which it replays from the start (what it sends again is dropped as duplicates); until
    /// it holds the log, the other replicas wait for it. Returns once it started. Possible while the VR's log (its
    /// packets and recorded outcomes) has at most 100,000 entries; every replica keeps it until then.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="vr"/> is not a mirrored VR this VM knows of.</exception>
    /// <exception cref="DeployException">the log was trimmed, the VM already runs a replica or is gone, or it could not start one.</exception>
    public void AddMirror(VrId vr, VmInfo vm) => Context.Checked.Vm.Mirrors.AddMirror(vr, vm);

    /// <summary>
    /// Starts a VR object the caller built on this VR's VM, as this VR's child, and returns its id. Unlike
    /// <c>Deploy</c> nothing is copied and the caller keeps its reference: for libraries whose helper VR shares
    /// state with the code that started it (a client endpoint, an object served to others).
    /// </summary>
    /// <exception cref="InvalidOperationException"><paramref name="vr"/> was started already.</exception>
    public VrId Spawn(VirtualResourceBase vr, params object?[] args)
    {
        ArgumentNullException.ThrowIfNull(vr);
        return Context.Checked.Vm.StartLocal(vr, VrId.New(), Id, Args, args, Context.Run).Id;
    }

    /// <summary>
    /// Sends a packet to <paramref name="dest"/>: an anonymous object, a dictionary or a <see cref="Packet"/>.
    /// Returns at once unless the receiver's queue is full (its <see cref="QueueLimit"/>, or across VMs the
    /// credit its VM granted this one): then it blocks the calling thread until there is room. An async VR
    /// that must not block a thread uses <see cref="SendAsync(VrId, object, CancellationToken)"/>.
    /// </summary>
    /// <exception cref="UnsupportedValueException">a value cannot be carried (names the attribute and type).</exception>
    /// <exception cref="QueueFullException">the receiver's queue stayed full for <see cref="SendTimeout"/> (a slow receiver or a cycle of full queues).</exception>
    public void Send(VrId dest, object attributes) => Context.Checked.Vm.Send(Id, dest, attributes, Context.SendTimeout);

    /// <summary>Sends a packet whose <c>dest</c> attribute names the receiver; waits like <see cref="Send(VrId, object)"/>.</summary>
    public void Send(object attributes) => Context.Checked.Vm.Send(Id, null, attributes, Context.SendTimeout);

    /// <summary>
    /// Sends like <see cref="Send(VrId, object)"/>, but while the receiver's queue is full it awaits instead of blocking a thread.
    /// </summary>
    /// <example><code>
    /// for (var n = 0; n &lt; 1_000_000; n++)
    ///     await SendAsync(sink, new { tag = "data", n }, stop);
    /// </code></example>
    /// <exception cref="QueueFullException">the receiver's queue stayed full for <see cref="SendTimeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> fired while waiting; the packet was not sent.</exception>
    public ValueTask SendAsync(VrId dest, object attributes, CancellationToken cancel = default) =>
        Context.Checked.Vm.SendAsync(Id, dest, attributes, Context.SendTimeout, cancel);

    /// <summary>Sends a packet whose <c>dest</c> attribute names the receiver; awaits like <see cref="SendAsync(VrId, object, CancellationToken)"/>.</summary>
    public ValueTask SendAsync(object attributes, CancellationToken cancel = default) =>
        Context.Checked.Vm.SendAsync(Id, null, attributes, Context.SendTimeout, cancel);

    /// <summary>
    /// How much this VR's queue may hold before its senders wait; null (the default) takes the VM's
    /// <see cref="RiverVmOptions.QueueLimit"/>. Read once, when the VR starts.
    /// </summary>
    /// <example><code>
    /// protected override QueueLimit? QueueLimit => River.QueueLimit.Unbounded; // senders never wait; memory is at risk
    /// </code></example>
    protected internal virtual QueueLimit? QueueLimit => null;

    /// <summary>
    /// How long this VR's <c>Send</c> waits for room in a full queue before it throws <see cref="QueueFullException"/>;
    /// null (the default) takes the VM's <see cref="RiverVmOptions.SendTimeout"/>. Read once, when the VR starts.
    /// </summary>
    /// <example><code>
    /// protected override TimeSpan? SendTimeout => TimeSpan.FromSeconds(5);
    /// </code></example>
    protected internal virtual TimeSpan? SendTimeout => null;

    /// <summary>Removes and returns the oldest matching packet without waiting.</summary>
    public bool TryRecv(object? match, out Packet packet) => TryTake(Matcher.From(match), out packet);

    /// <summary>Removes and returns the oldest packet satisfying <paramref name="where"/> without waiting.</summary>
    public bool TryRecv(Func<Packet, bool> where, out Packet packet) => TryTake(Matcher.From(where), out packet);

    private bool TryTake(Matcher match, out Packet packet)
    {
        var box = Context.Checked.Mailbox;
        if (Context.Replica is not { } replica) return box.TryTake(match, out packet);
        packet = replica.Decide(box, take: true, () => box.TryTake(match, out var p) ? p : null)!;
        return packet is not null;
    }

    /// <summary>The oldest matching packet, left in the queue; <c>null</c> when none.</summary>
    public Packet? Peek(object? match = null)
    {
        var box = Context.Checked.Mailbox;
        var m = Matcher.From(match);
        return Context.Replica is { } replica ? replica.Decide(box, take: false, () => box.Peek(m)) : box.Peek(m);
    }

    /// <summary>
    /// Watches <paramref name="vr"/>: when it ends, this VR receives one packet
    /// <c>{ tag = "river.down", vr, reason, error }</c> whose src is <paramref name="vr"/>. <c>reason</c> is
    /// <c>"normal"</c> (its Main returned), <c>"failed"</c> (it threw, or was killed; <c>error</c> reads
    /// <c>"Full.Type.Name: message"</c>), <c>"lost"</c> (its VM is suspected or gone: within the failure
    /// timeout, 2 s) or <c>"noproc"</c> (no VM knows it, within 3 s). One packet per call; a VR that already
    /// ended is answered at once with its real reason while its VM remembers it (a minute).
    /// </summary>
    /// <example><code>
    /// var worker = Deploy&lt;Worker&gt;(vm);
    /// Monitor(worker);
    /// var down = Recv(new { tag = "river.down", src = worker });
    /// if (down.Get&lt;string&gt;("reason") != "normal") worker = Deploy&lt;Worker&gt;(Discover()[0]);
    /// </code></example>
    public void Monitor(VrId vr) => Context.Checked.Vm.Monitors.Monitor(Context, vr);

    /// <summary>Withdraws every monitor this VR placed on <paramref name="vr"/>: no <c>river.down</c> of it is received after this returns (one already queued is removed).</summary>
    public void Demonitor(VrId vr) => Context.Checked.Vm.Monitors.Demonitor(Context, vr);

    /// <summary>
    /// Links this VR and <paramref name="vr"/>, both ways (Erlang's <c>link</c>): when either ends other than
    /// normally, the other is told at its next River call: <c>Send</c>, <c>Deploy</c>, <c>Recv</c>, <c>TryRecv</c>...
    /// throws <see cref="LinkedVrFailedException"/> naming the VR, the reason (<c>"failed"</c>, <c>"lost"</c>:
    /// its VM is suspected or gone, <c>"noproc"</c>) and its error; a <c>Recv</c> waiting at that moment wakes
    /// and throws it. Uncaught, it ends this VR as failed, and so on along the links. A VR that sets
    /// <see cref="TrapExits"/> gets a packet <c>{ tag = "river.exit", vr, reason, error }</c> (src = that VR)
    /// instead, for a normal end too. Linking to a VR nobody knows is <c>noproc</c> at once (within 3 s across
    /// VMs); to one that already ended, its real end while its VM remembers it (as <see cref="Monitor"/>), so a
    /// link placed right after <c>Deploy</c> misses nothing. Linking twice is linking once; to itself, nothing.
    /// </summary>
    /// <example><code>
    /// var partner = Deploy&lt;Partner&gt;(vm);
    /// Link(partner);          // if partner fails or its VM dies, this VR's next Recv throws
    /// var reply = Recv(new { tag = "result" });
    /// </code></example>
    public void Link(VrId vr) => Context.Checked.Vm.Links.Link(Context, vr);

    /// <summary>Removes the link with <paramref name="vr"/>, both ways: no exit of it is received after this returns (a pending one is taken back).</summary>
    /// <example><code>
    /// Link(helper);
    /// var answer = Recv(new { tag = "answer", src = helper });
    /// Unlink(helper); // done with it: its later end, however it comes, is no concern of this VR
    /// </code></example>
    public void Unlink(VrId vr) => Context.Checked.Vm.Links.Unlink(Context, vr);

    /// <summary>
    /// When true, the ends of linked VRs come as packets <c>{ tag = "river.exit", vr, reason, error }</c> (src =
    /// the linked VR; <c>reason</c> as in <c>river.down</c>, <c>"normal"</c> included) instead of a
    /// <see cref="LinkedVrFailedException"/>, so this VR decides what a failure means (a supervisor). False by default.
    /// </summary>
    /// <example><code>
    /// TrapExits = true;
    /// Link(worker);
    /// var exit = Recv(new { tag = "river.exit", src = worker });
    /// if (exit.Get&lt;string&gt;("reason") != "normal") worker = Deploy&lt;Worker&gt;(Discover()[0]);
    /// </code></example>
    protected bool TrapExits
    {
        get => Context.TrapExits;
        set => Context.TrapExits = value;
    }

    /// <summary>Publishes an attribute of this VM that <c>Discover</c> filters on.</summary>
    public void SetVmAttribute(string name, object? value) => Context.Checked.Vm.SetAttribute(name, value);

    /// <summary>The number of packets waiting in this VR's queue.</summary>
    public int QueuedPackets => Context.Mailbox.Count;
}

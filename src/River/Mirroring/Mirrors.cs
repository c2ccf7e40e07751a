using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace River;

/// <summary>
/// Mirroring (active replication) on one VM: <c>DeployMirrored</c> runs one VR as a replica on each of several VMs
/// under one <see cref="VrId"/> (<see cref="MirrorGroup"/> has the protocol between the replicas). Here is what every
/// VM does for mirrored VRs, replica or not:
/// <list type="bullet">
/// <item>packets to a mirrored VR are numbered per (src, dest) stream and go to its primary; the sending VM keeps a
/// copy of each until the primary says every replica has it, and sends the copies again to a new primary;</item>
/// <item>packets from a mirrored VR are numbered per (src, dest) stream too; the primary's replica sends them, and a
/// mirror's holds its copies until the receiving VM says it has the primary's (<see cref="MirrorDelivered"/>, every
/// few ms), sending what it holds when it becomes the primary, or when it holds too many. The receiving VM delivers
/// the first copy of each number and drops the others.</item>
/// </list>
/// The numbers travel in the frame (<see cref="Frames.SequencedKind"/>), so other packets are untouched.
/// </summary>
internal sealed class Mirrors
{
    private readonly RiverVm _vm;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<VrId, MirrorGroup> _groups = new();
    private readonly ConcurrentDictionary<(VrId Src, VrId Dest), OutStream> _streams = new();
    private readonly ConcurrentDictionary<(VrId Src, VrId Dest), InStream> _seen = new();
    private readonly ConcurrentDictionary<long, TaskCompletionSource<string?>> _adds = new();
    private readonly ConcurrentQueue<InStream> _due = new(); // streams whose mirrors are to be told what was delivered
    private readonly Timer _tellDelivered;
    private int _tellScheduled; // 1 while a tick is due in TellDeliveredAfterMs
    private long _nextAdd;
    private volatile bool _active;
    private int _groupsAdded; // bumped after each group joins _groups: a thread's cached answer in TrySend is then looked up again

    /// <summary>How long a receiving VM gathers what it delivered from mirrored VRs before telling their mirrors.</summary>
    private const int TellDeliveredAfterMs = 10;

    /// <summary>
    /// After this many deliveries on one stream its mirrors are told at once, not after <see cref="TellDeliveredAfterMs"/>:
    /// a fast stream (650 k answers a second) outran <see cref="MaxHeld"/> within the 10 ms, and its mirror sent one answer
    /// in 12 again, which the receiver read only to drop.
    /// </summary>
    private const int TellDeliveredEvery = MaxHeld / 8;

    /// <summary>Past this many held copies on one stream, a mirror sends the oldest (receivers drop duplicates).</summary>
    private const int MaxHeld = 8192;

    /// <summary>How long <see cref="AddMirror"/> waits for the primary to start the new replica.</summary>
    private static readonly TimeSpan AddTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// One (src, dest) stream sent from this VM: the last number given, and the copies not yet acknowledged (to a
    /// mirrored dest: by its primary, as frames; from a mirror's replica: by the receiving VM, as frames or, when
    /// every value is immutable, as the packet itself: most are dropped unsent, so serializing them would be waste).
    /// </summary>
    private sealed class OutStream(Mirrors owner, (VrId Src, VrId Dest) key)
    {
        public readonly Mirrors Owner = owner;
        public readonly (VrId Src, VrId Dest) Key = key;
        public readonly Lock Gate = new(); // taken on every packet: a Lock, not the object's monitor, costs no call into the runtime
        public volatile bool Removed; // its sender ended here: a VR started again under that id starts a new stream
        public long Next;
        public VmId? SentTo; // to a mirrored VR: the primary its unacknowledged copies last went to, in order
        public readonly Queue<(long Seq, byte[]? Frame, Packet? Packet)> Unacked = new();
    }

    /// <summary>
    /// One (src, dest) stream from a mirrored VR to a VR here: the last number delivered, and whether it waits in
    /// <see cref="_due"/> to be told to the sender's mirrors (both under its lock).
    /// </summary>
    private sealed class InStream(Mirrors owner, (VrId Src, VrId Dest) key)
    {
        public readonly Mirrors Owner = owner;
        public readonly (VrId Src, VrId Dest) Key = key;
        public readonly Lock Gate = new(); // as OutStream's
        public volatile bool Removed; // its receiver ended here: a VR started again under that id starts from nothing
        public long Seen, Told;
        public bool Due;
    }

    public Mirrors(RiverVm vm, ILogger logger)
    {
        _vm = vm;
        _logger = logger;
        _tellDelivered = new Timer(_ => Tick());
        vm.VrStarted += (_, e) =>
        {
            if (_groups.TryGetValue(e.Id, out var group) && vm.TryGetLocal(e.Id, out var local)) group.Attach(local);
        };
        vm.VrEnded += (_, e) => OnEnded(e.Id);
    }

    /// <summary>This VM's part in mirrored VR <paramref name="vr"/>, if it knows of it.</summary>
    public MirrorGroup? Group(VrId vr) => _groups.GetValueOrDefault(vr);

    /// <summary>True once this VM has heard of a mirrored VR: only then does a send look here.</summary>
    public bool Active => _active;

    /// <summary>Starts one <paramref name="type"/> replica on each of <paramref name="vms"/> under one new id; the first VM's is the primary.</summary>
    public VrId Deploy(Type type, IReadOnlyList<VmInfo> vms, VrContext caller, object?[] args)
    {
        ArgumentNullException.ThrowIfNull(vms);
        if (vms.Count < 2)
            throw new ArgumentException($"DeployMirrored needs at least 2 VMs, one per replica; it was given {vms.Count}.", nameof(vms));
        var ids = vms.Select(v => v?.Id ?? throw new ArgumentException("A VM to deploy on is null.", nameof(vms))).ToArray();
        if (ids.Distinct().Count() != ids.Length)
            throw new ArgumentException("DeployMirrored needs distinct VMs: replicas on one VM would die together.", nameof(vms));
        var view = new MirrorView(VrId.New(), ids, 1);
        // Every member hears of the group before any replica starts (on each link the view goes before the deploy).
        Adopt(view);
        Publish(view);
        _vm.Deployer.Deploy(type, vms, caller, args, view.Vr);
        return view.Vr;
    }

    /// <summary>
    /// Starts another replica of mirrored VR <paramref name="vr"/> on <paramref name="vm"/> (asking its primary, which
    /// deploys it like the others and replays the whole log to it). Returns once it started.
    /// </summary>
    public void AddMirror(VrId vr, VmInfo vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        if (!_groups.TryGetValue(vr, out var group)) throw new ArgumentException($"VR {vr} is not a mirrored VR this VM knows of.", nameof(vr));
        string? error;
        if (group.Primary == _vm.Id) error = AddHere(group, vm.Id);
        else
        {
            var request = new MirrorAddRequest(Interlocked.Increment(ref _nextAdd), vr, vm.Id);
            var reply = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
            _adds[request.RequestId] = reply;
            Tell(group.Primary, request);
            Corking.Flush();
            if (!reply.Task.Wait(AddTimeout)) _adds.TryRemove(request.RequestId, out _);
            error = reply.Task.IsCompleted ? reply.Task.Result : $"its primary, VM {group.Primary}, did not answer within {AddTimeout.TotalSeconds:0} s";
        }
        if (error is not null) throw new DeployException($"Could not add a replica of mirrored VR {vr} on VM {vm.Id}: {error}");
    }

    /// <summary>The primary's side of <see cref="AddMirror"/>: the new VM joins the view, then its replica is deployed; null, or why not.</summary>
    private string? AddHere(MirrorGroup group, VmId vm)
    {
        try
        {
            var target = _vm.Membership.Snapshot().Select(m => m.Info).Append(_vm.Info).FirstOrDefault(i => i.Id == vm)
                ?? throw new InvalidOperationException($"VM {vm} is not a live member of the cluster");
            var template = group.Local ?? throw new InvalidOperationException("the primary's replica has ended");
            group.Announce(group.AddMirror(vm)); // on its link the view goes before the log and the deploy: the new VM knows it is a replica
            try
            {
                _vm.Deployer.Deploy(template.Instance.GetType(), [target], template, template.DeployArgs, group.Id, template.Parent);
            }
            catch
            {
                group.OnVmGone(vm); // out of the view again
                throw;
            }
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or DeployException or ArgumentException)
        {
            return e.Message;
        }
    }

    // A VR sends runs of packets to one VR: its thread keeps which of the two is mirrored, valid until a group is added
    // (groups are never removed), so a send looks up neither (every send on this VM asks, mirrored or not).
    [ThreadStatic] private static (Mirrors? Owner, VrId Src, VrId Dest, MirrorGroup? To, MirrorGroup? From, int Added) t_route;

    /// <summary>Routes a packet to or from a mirrored VR; true when it was sent here (to a mirrored VR), false to let the router go on.</summary>
    public bool TrySend(Packet packet, TimeSpan? wait)
    {
        ref var route = ref t_route;
        var added = Volatile.Read(ref _groupsAdded); // read before the lookups: a group added after them changes it
        if (route.Owner != this || route.Src != packet.Src || route.Dest != packet.Dest || route.Added != added)
        {
            var to = _groups.GetValueOrDefault(packet.Dest);
            route = (this, packet.Src, packet.Dest, to, to is null ? _groups.GetValueOrDefault(packet.Src) : null, added);
        }
        if (route.To is { } group)
        {
            SendTo(group, packet, wait);
            return true;
        }
        // A copy a mirror held, sent now, already has its number.
        return packet.MirrorSeq == 0 && route.From is { } from && SendFrom(from, packet);
    }

    /// <summary>
    /// Numbers a packet from the replica here of <paramref name="group"/>; true when it is held (a mirror's copy), false
    /// to let the router send it (the primary's). One VR sends on a stream, so a held copy is sent before any later one.
    /// </summary>
    private bool SendFrom(MirrorGroup group, Packet packet)
    {
        var stream = StreamOf(packet.Src, packet.Dest);
        lock (stream.Gate)
        {
            packet.MirrorSeq = ++stream.Next;
            if (group.Primary == _vm.Id)
            {
                SendHeld(stream, stream.Unacked.Count);
                return false;
            }
            stream.Unacked.Enqueue(Array.TrueForAll(packet.AttributeValues, RiverSerializer.IsImmutable)
                ? (packet.MirrorSeq, null, packet)
                : (packet.MirrorSeq, Frames.Packet(_vm.Serializer, packet).ToArray(), null));
            SendHeld(stream, stream.Unacked.Count - MaxHeld);
            return true;
        }
    }

    /// <summary>Sends the <paramref name="count"/> oldest copies <paramref name="stream"/> holds (caller holds its lock).</summary>
    private void SendHeld(OutStream stream, int count)
    {
        for (; count > 0 && stream.Unacked.TryDequeue(out var held); count--)
        {
            try
            {
                _vm.Router.Send(held.Packet ?? _vm.ReadPacket(held.Frame!));
            }
            catch (VmGoneException)
            {
                // Its receiver's VM is gone: the packet is as lost as the primary's copy was.
            }
        }
    }

    /// <summary>The replica here became <paramref name="vr"/>'s primary: what its mirror held goes out, in order.</summary>
    public void SendHeld(VrId vr)
    {
        foreach (var (key, stream) in _streams)
            if (key.Src == vr && IsHeld(key))
                lock (stream.Gate) SendHeld(stream, stream.Unacked.Count);
    }

    /// <summary>
    /// True when a mirrored VR's stream holds a mirror's copies (to a plain VR); a stream to another mirrored VR holds
    /// copies its primary has not acknowledged, sent again by <see cref="Resend"/>.
    /// </summary>
    private bool IsHeld((VrId Src, VrId Dest) stream) => !_groups.ContainsKey(stream.Dest);

    /// <summary>
    /// A packet numbered by a mirrored sender was delivered on <paramref name="stream"/> (caller holds its lock): its mirrors
    /// are told soon, all streams at once. True when they are to be told now, by the caller once it let go of the lock
    /// (<see cref="TellDelivered"/>): a fast stream's, every <see cref="TellDeliveredEvery"/> packets.
    /// </summary>
    private bool Delivered(InStream stream)
    {
        if (!stream.Due)
        {
            stream.Due = true;
            _due.Enqueue(stream);
            if (Interlocked.CompareExchange(ref _tellScheduled, 1, 0) == 0) _tellDelivered.Change(TellDeliveredAfterMs, Timeout.Infinite);
        }
        return stream.Seen - stream.Told >= TellDeliveredEvery;
    }

    private void Tick()
    {
        Volatile.Write(ref _tellScheduled, 0);
        TellDelivered();
    }

    /// <summary>
    /// Tells the mirrors of every stream in <see cref="_due"/> how far it was delivered. On the timer's thread, or on a
    /// thread that delivered (a pool thread woken for it cost more than the telling), both at once at times: each stream
    /// is taken from the queue by one, and a mirror ignores a number lower than one it was told.
    /// </summary>
    private void TellDelivered()
    {
        var due = new List<(VrId Src, VrId Dest, long Seq)>();
        while (_due.TryDequeue(out var stream))
        {
            lock (stream.Gate)
            {
                stream.Due = false; // a later delivery queues it again
                stream.Told = stream.Seen;
                due.Add((stream.Key.Src, stream.Key.Dest, stream.Seen));
            }
        }
        foreach (var bySrc in due.GroupBy(e => e.Src))
        {
            if (!_groups.TryGetValue(bySrc.Key, out var group)) continue;
            var told = new MirrorDelivered(bySrc.Key, [.. bySrc.Select(e => e.Dest)], [.. bySrc.Select(e => e.Seq)]);
            foreach (var vm in group.Survivors().Skip(1))
            {
                if (vm == _vm.Id) OnDelivered(told);
                else Tell(vm, told);
            }
        }
        Corking.Flush();
    }

    /// <summary>The receivers hold the streams <paramref name="told"/> names up to its numbers: the copies held here go.</summary>
    private void OnDelivered(MirrorDelivered told)
    {
        if (told.Dests.Length != told.Seqs.Length) throw new MessagePack.MessagePackSerializationException("a MirrorDelivered whose lists differ in length");
        for (var i = 0; i < told.Dests.Length; i++) Acknowledge((told.Vr, told.Dests[i]), told.Seqs[i]);
    }

    [ThreadStatic] private static OutStream? t_stream; // the stream this thread last sent on: a VR sends runs of packets to one VR

    private OutStream StreamOf(VrId src, VrId dest)
    {
        if (t_stream is { Removed: false } last && last.Owner == this && last.Key == (src, dest)) return last;
        return t_stream = _streams.GetOrAdd((src, dest), static (key, owner) => new OutStream(owner, key), this);
    }

    private void SendTo(MirrorGroup group, Packet packet, TimeSpan? wait)
    {
        var stream = StreamOf(packet.Src, group.Id);
        var primary = group.Primary;
        // Room first, outside the stream's lock: a runtime thread sending copies again must never wait for it.
        // (The router passes no wait on a transport thread.)
        if (wait is { } limit)
        {
            if (primary != _vm.Id && _vm.Membership.PeerOf(primary) is { } peer) _vm.Router.WindowFor(group.Id, peer).Wait(limit);
            else if (primary == _vm.Id && group.Local?.Mailbox is { Bounded: true, Blocked: true } box) box.Wait(limit);
        }
        lock (stream.Gate)
        {
            packet.MirrorSeq = ++stream.Next;
            var frame = Frames.Packet(_vm.Serializer, packet).ToArray();
            stream.Unacked.Enqueue((packet.MirrorSeq, frame, null));
            Transmit(group, stream, frame);
        }
    }

    /// <summary>
    /// Sends a stream's new copy (<paramref name="frame"/>, or none) to the group's primary (caller holds the stream's
    /// lock). When the primary changed since the stream's copies last went out, every copy not yet acknowledged goes
    /// first, in order, whichever thread sees the change first: a primary takes each stream's numbers in order, so a
    /// new copy that overtook older ones (sent right after the view changed, before <see cref="Resend"/>) would make
    /// it drop those as duplicates, and their requests were lost.
    /// </summary>
    private void Transmit(MirrorGroup group, OutStream stream, byte[]? frame)
    {
        var primary = group.Primary;
        if (stream.SentTo == primary)
        {
            if (frame is not null) Transmit(group, primary, frame);
            return;
        }
        stream.SentTo = primary;
        foreach (var (_, copy, _) in stream.Unacked) Transmit(group, primary, copy!);
    }

    private void Transmit(MirrorGroup group, VmId primary, byte[] frame)
    {
        if (primary == _vm.Id) group.AcceptLocal(_vm.ReadPacket(frame), frame);
        else if (!group.IsGone(primary) && _vm.Membership.PeerOf(primary) is { } peer) _vm.Router.SendFrame(group.Id, peer, frame);
    }

    /// <summary>A primary announced itself: every copy not yet acknowledged goes to it, in order (unless a send did it already).</summary>
    public void Resend(VrId vr)
    {
        if (!_groups.TryGetValue(vr, out var group)) return;
        foreach (var ((_, dest), stream) in _streams)
        {
            if (dest != vr) continue;
            lock (stream.Gate) Transmit(group, stream, null);
        }
    }

    /// <summary>The primary has these streams on every replica: their copies go.</summary>
    public void OnAck(MirrorAck ack)
    {
        if (ack.Srcs.Length != ack.Seqs.Length) throw new MessagePack.MessagePackSerializationException("a MirrorAck whose lists differ in length");
        for (var i = 0; i < ack.Srcs.Length; i++) Acknowledge((ack.Srcs[i], ack.Vr), ack.Seqs[i]);
    }

    private void Acknowledge((VrId Src, VrId Dest) key, long upto)
    {
        if (!_streams.TryGetValue(key, out var stream)) return;
        lock (stream.Gate)
            while (stream.Unacked.TryPeek(out var head) && head.Seq <= upto) stream.Unacked.Dequeue();
    }

    /// <summary>
    /// A packet for <paramref name="local"/> that is mirrored, or numbered by a mirrored sender: the group orders it,
    /// or the first copy of each number is posted. False when the VR ended.
    /// </summary>
    public bool Deliver(VrContext local, Packet packet, VmId from)
    {
        if (local.Replica is { } group) return group.Deliver(local, packet, from);
        var seen = SeenOf(packet.Src, local.Id);
        bool posted, tell;
        lock (seen.Gate) // two replicas' copies may arrive on two threads at once: checked and posted as one step, in order
        {
            if (packet.MirrorSeq <= seen.Seen)
            {
                Discard(packet, local.Mailbox);
                return true;
            }
            seen.Seen = packet.MirrorSeq;
            tell = Delivered(seen);
            posted = local.Mailbox.Post(packet);
        }
        if (tell) TellDelivered();
        return posted;
    }

    [ThreadStatic] private static InStream? t_seen; // the stream this thread last delivered on: answers come in runs from one VR

    private InStream SeenOf(VrId src, VrId dest)
    {
        if (t_seen is { Removed: false } last && last.Owner == this && last.Key == (src, dest)) return last;
        return t_seen = _seen.GetOrAdd((src, dest), static (key, owner) => new InStream(owner, key), this);
    }

    /// <summary>A packet dropped on arrival (a duplicate): its flow-control credit goes back as if its VR had taken it.</summary>
    public static void Discard(Packet packet, Mailbox box)
    {
        if (packet.Ledger is not { } ledger) return;
        packet.Ledger = null;
        ledger.Taken(packet.QueueCost, box);
    }

    public void OnControl(IPeer from, IMirrorMessage message)
    {
        switch (message)
        {
            case MirrorView v:
                if (v.Vms is not { Length: > 0 }) throw new MessagePack.MessagePackSerializationException("a MirrorView without VMs");
                Adopt(v);
                break;
            case MirrorAck a:
                OnAck(a);
                break;
            case MirrorDelivered d:
                OnDelivered(d);
                break;
            case IReplicaMessage m when _groups.TryGetValue(m.Vr, out var g):
                m.Handle(g, from.RemoteId);
                break;
            case MirrorAddRequest r:
                // Deploying waits for the new VM's answer: not on this reader thread.
                Task.Run(() => Tell(from.RemoteId, new MirrorAddReply(r.RequestId,
                    _groups.TryGetValue(r.Vr, out var added) ? AddHere(added, r.Vm) : $"VM {_vm.Id} knows no mirrored VR {r.Vr}")));
                break;
            case MirrorAddReply r:
                if (_adds.TryRemove(r.RequestId, out var waiting)) waiting.TrySetResult(r.Error);
                break;
        }
    }

    private void Adopt(MirrorView view)
    {
        _active = true;
        var created = false;
        var group = _groups.GetOrAdd(view.Vr, _ =>
        {
            created = true;
            return new MirrorGroup(_vm, this, _logger, view);
        });
        if (created)
        {
            Interlocked.Increment(ref _groupsAdded);
            return;
        }
        if (group.Adopt(view, out var dropReplica)) Resend(view.Vr);
        if (dropReplica) _vm.Kill(view.Vr); // the group went on without this replica (this VM was taken for gone)
    }

    /// <summary>A primary's view goes to every member.</summary>
    public void Publish(MirrorView view)
    {
        var frame = Frames.Control(_vm.Serializer, view).ToArray();
        foreach (var peer in _vm.Membership.Peers()) peer.Send(frame);
    }

    public void Tell(VmId to, object message) => _vm.Membership.PeerOf(to)?.Send(Frames.Control(_vm.Serializer, message));

    /// <summary>VM <paramref name="id"/> is gone (not merely suspected: it is fenced, so it cannot come back as a second primary).</summary>
    public void OnVmGone(VmId id)
    {
        foreach (var group in _groups.Values) group.OnVmGone(id);
    }

    private void OnEnded(VrId id)
    {
        if (!_active) return; // a VM that never heard of a mirrored VR keeps nothing for one
        if (_groups.TryGetValue(id, out var group)) group.Detach();
        foreach (var (key, seen) in _seen)
            if (key.Dest == id && _seen.TryRemove(key, out _)) seen.Removed = true;
        var mirrored = _groups.ContainsKey(id);
        foreach (var (key, stream) in _streams)
        {
            if (key.Src != id || !_streams.TryRemove(key, out _)) continue;
            stream.Removed = true;
            // A mirror's replica ended: what it still holds goes now, as no later packet will carry it out.
            if (mirrored && IsHeld(key))
                lock (stream.Gate) SendHeld(stream, stream.Unacked.Count);
        }
    }

    /// <summary>For monitors: the VM of a replica of mirrored VR <paramref name="vr"/> that is neither gone nor suspected, other than <paramref name="lost"/>.</summary>
    public VmId? LiveReplica(VrId vr, VmId? lost = null)
    {
        if (!_groups.TryGetValue(vr, out var group)) return null;
        var members = _vm.Membership.Snapshot().Where(m => !m.Suspected).Select(m => m.Info.Id).Append(_vm.Id).ToHashSet();
        foreach (var v in group.Survivors())
            if (v != lost && members.Contains(v)) return v;
        return null;
    }
}

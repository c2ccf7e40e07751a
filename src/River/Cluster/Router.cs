using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Logging;

namespace River;

/// <summary>
/// Naming and delivery: where a VR lives and how a packet gets there. A local VR's packet goes
/// straight into its mailbox (values copied unless immutable); a remote one is serialized on the
/// sender's thread, so a bad value fails at <c>Send</c>, and goes down the link to its VM. A VR
/// nobody here has heard of is looked up by asking every member; its packets wait, in order.
/// Flow control: a VR's sends wait while a local receiver's queue is full, or while a remote one's
/// <see cref="SendWindow"/> has no credit left; packets from the network are never refused, and the
/// receiving side gives credit back (<see cref="CreditLedger"/>) as its VR takes them.
/// </summary>
internal sealed class Router(RiverVm vm, ILogger logger)
{
    private readonly ConcurrentDictionary<VrId, IPeer> _locations = new();
    private readonly Dictionary<VrId, PendingLookup> _pending = [];
    private readonly ConcurrentDictionary<VrId, SendWindow> _windows = new();
    private readonly StripedCounter _undeliverable = new(), _packetsIn = new(), _packetsOut = new();

    // VRs whose VM is gone, with why: a send to one throws instead of vanishing. Bounded: cleared when full.
    private readonly ConcurrentDictionary<VrId, (VmId Vm, string Reason)> _gone = new();
    private const int MaxGone = 100_000;

    // One line per destination and interval, whatever the flood.
    private readonly LogThrottle _dropLog = new(TimeSpan.FromSeconds(10));

    // A VR sends to one remote peer again and again: its thread keeps the last route, valid until any location changes.
    [ThreadStatic] private static (Router? Router, VrId Dest, IPeer? Peer, SendWindow? Window, int Moves) t_route;

    // Likewise a stream of arrivals between one pair of VRs: the last one's sender was learned and its receiver found.
    [ThreadStatic] private static (Router? Router, VrId Src, VrId Dest, IPeer? From, VrContext? Local, CreditLedger? Ledger, int Moves) t_arrival;
    private int _moves;

    /// <summary>
    /// Packets for a VR being looked up, serialized when sent (the sender may change an array it sent as soon as
    /// <c>Send</c> returns), and the VMs yet to answer.
    /// </summary>
    private sealed class PendingLookup(IEnumerable<VmId> asked)
    {
        public readonly List<(Packet Packet, byte[] Frame)> Packets = [];
        public readonly HashSet<VmId> Awaiting = [.. asked];
        public readonly long Started = Environment.TickCount64;
    }

    /// <summary>How long packets wait for a lookup nobody answers.</summary>
    public static TimeSpan LookupTimeout { get; set; } = TimeSpan.FromSeconds(5);

    public long Undeliverable => _undeliverable.Value;
    public long PacketsIn => _packetsIn.Value;
    public long PacketsOut => _packetsOut.Value;

    /// <summary>The link to the VM a VR was last seen on, if any.</summary>
    public IPeer? LocationOf(VrId vr) => _locations.GetValueOrDefault(vr);

    public void Learn(VrId vr, VmId where)
    {
        if (where != vm.Id && vm.Membership.PeerOf(where) is { } peer) Learn(vr, peer);
    }

    public void Learn(VrId vr, IPeer peer)
    {
        if (_locations.TryGetValue(vr, out var known) && known == peer) return;
        _locations[vr] = peer;
        _gone.TryRemove(vr, out _); // restarted elsewhere (checkpoint/restart keeps VrIds)
        Interlocked.Increment(ref _moves);
    }

    /// <summary>Sends <paramref name="packet"/>; waits up to <paramref name="wait"/> while its receiver's queue is full (null: never waits).</summary>
    public void Send(Packet packet, TimeSpan? wait = null)
    {
        vm.Observers.Sent(packet);
        if (PeerLink.t_isTransportThread) wait = null; // a reader that waited could never deliver the credit it waits for
        // To or from a mirrored VR: numbered per (src, dest), and to one the mirror group's primary takes it (Mirroring/).
        if (vm.Mirrors.Active && vm.Mirrors.TrySend(packet, wait)) return;
        if (CachedRoute(packet.Dest, out var cachedPeer, out var cachedWindow))
        {
            SendRemote(cachedPeer, cachedWindow, packet, wait);
            return;
        }
        if (vm.TryGetLocal(packet.Dest, out var local))
        {
            SendLocal(local, packet, wait);
            return;
        }
        // Entries leave _pending only after their packets were sent, so a sender that sees none has none waiting.
        if (_pending.Count > 0)
            lock (_pending)
            {
                if (_pending.TryGetValue(packet.Dest, out var waiting))
                {
                    waiting.Packets.Add((packet, FrameOf(packet)));
                    return;
                }
            }
        var moves = Volatile.Read(ref _moves);
        if (_locations.TryGetValue(packet.Dest, out var peer))
        {
            var window = WindowFor(packet.Dest, peer);
            t_route = (this, packet.Dest, peer, window, moves);
            SendRemote(peer, window, packet, wait);
            return;
        }
        if (_gone.TryGetValue(packet.Dest, out var gone)) throw new VmGoneException(packet.Dest, gone.Vm, gone.Reason);
        StartLookup(packet);
    }

    /// <summary>
    /// Sends the packet these fields make without building a <see cref="Packet"/> object, when nothing would look at one:
    /// to the remote VR this thread sent to last (its route cached), with no observers and no mirroring (the caller
    /// checks tracing and the runtime hooks). False when it did not send: the caller sends a packet as usual. A stream
    /// of small packets then allocates a packet less each.
    /// </summary>
    public bool TrySendDirect(VrId src, VrId dest, string[] names, object?[] values, TimeSpan? wait)
    {
        if (vm.Observers.Any || vm.Mirrors.Active || !CachedRoute(dest, out var peer, out var window)) return false;
        if (PeerLink.t_isTransportThread) wait = null;
        if (wait is { } limit) window.Wait(limit);
        var head = Frames.Packet(vm.Serializer, src, dest, names, values, PeerLink.SplitSize, out var tail);
        SendFrame(peer, window, dest, head, tail);
        return true;
    }

    /// <summary>This thread's last route, when it leads to <paramref name="dest"/> and is still valid.</summary>
    private bool CachedRoute(VrId dest, [NotNullWhen(true)] out IPeer? peer, [NotNullWhen(true)] out SendWindow? window)
    {
        ref var route = ref t_route; // by reference: the cache is read on every send
        var hit = route.Router == this && route.Dest == dest && route.Moves == Volatile.Read(ref _moves) && _pending.Count == 0;
        (peer, window) = hit ? (route.Peer!, route.Window!) : (null, null);
        return hit;
    }

    /// <summary>Awaits room at <paramref name="packet"/>'s receiver, then sends it without blocking.</summary>
    public async ValueTask SendAsync(Packet packet, TimeSpan wait, CancellationToken cancel)
    {
        FlowGate? gate = vm.TryGetLocal(packet.Dest, out var local) ? local.Mailbox
            : _locations.TryGetValue(packet.Dest, out var peer) ? WindowFor(packet.Dest, peer) : null;
        if (gate is { Blocked: true })
        {
            if (packet.Src == packet.Dest && gate is Mailbox) throw SelfFull(packet.Dest);
            await gate.WaitAsync(wait, cancel).ConfigureAwait(false);
        }
        Send(packet);
    }

    private void SendLocal(VrContext local, Packet packet, TimeSpan? wait)
    {
        var queue = local.Mailbox;
        if (queue.Bounded && wait is { } limit && queue.Blocked)
        {
            if (packet.Src == packet.Dest) throw SelfFull(packet.Dest);
            queue.Wait(limit);
        }
        packet = CopyForLocal(packet, local);
        if (queue.Bounded) packet.QueueCost = FlowControl.LocalCost(packet);
        Deliver(local, packet);
    }

    // Only the VR itself could make room: waiting would never end.
    private static QueueFullException SelfFull(VrId vr) =>
        new(vr, TimeSpan.Zero, "a VR sent to itself while its own queue was full: only it could make room");

    private void SendRemote(IPeer peer, SendWindow window, Packet packet, TimeSpan? wait)
    {
        if (wait is { } limit) window.Wait(limit);
        var head = Frames.Packet(vm.Serializer, packet, PeerLink.SplitSize, out var tail);
        SendFrame(peer, window, packet.Dest, head, tail);
    }

    private void SendFrame(IPeer peer, SendWindow window, VrId dest, ReadOnlySpan<byte> head, Array? tail)
    {
        if (!(tail is null ? SendCharged(peer, window, head) : SendCharged(peer, window, head, RiverSerializer.BytesOf(tail))))
        {
            // The link closed under this sender: its VM was just declared gone (OnMemberLeft names it here soon after).
            throw _gone.TryGetValue(dest, out var gone)
                ? new VmGoneException(dest, gone.Vm, gone.Reason)
                : new VmGoneException(dest, peer.RemoteId, "its link closed");
        }
    }

    private bool SendCharged(IPeer peer, SendWindow window, ReadOnlySpan<byte> frame)
    {
        window.Charge(frame.Length);
        return Sent(peer.Send(frame, Corking.Active));
    }

    private bool SendCharged(IPeer peer, SendWindow window, ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail)
    {
        window.Charge(head.Length + tail.Length);
        return Sent(peer.Send(head, tail, Corking.Active));
    }

    private bool Sent(bool taken)
    {
        if (taken) _packetsOut.Increment();
        return taken;
    }

    /// <summary>
    /// Sends a packet frame built elsewhere (a mirror group's numbered packets) to VR <paramref name="dest"/> on the VM
    /// <paramref name="peer"/> links to, charged to its window (a sender waits on <see cref="WindowFor"/> first).
    /// False when the link closed (that VM is gone).
    /// </summary>
    public bool SendFrame(VrId dest, IPeer peer, ReadOnlySpan<byte> frame) => SendCharged(peer, WindowFor(dest, peer), frame);

    /// <summary>The credit this VM has for VR <paramref name="dest"/> on the VM <paramref name="peer"/> links to.</summary>
    public SendWindow WindowFor(VrId dest, IPeer peer) =>
        _windows.TryGetValue(dest, out var window) && window.Peer == peer ? window
            : _windows.AddOrUpdate(dest, static (d, p) => new SendWindow(d, p), static (d, old, p) => old.Peer == p ? old : new SendWindow(d, p), peer);

    /// <summary>Credit from the VM a VR runs on: more may be sent to it, or (ended) it will never read again.</summary>
    public void OnCredit(Credit credit, IPeer from)
    {
        if (credit.Bytes is < 0 or > SendWindow.MaxCredit || credit.Packets is < 0 or > SendWindow.MaxCredit)
            throw new MessagePack.MessagePackSerializationException($"a Credit of {credit.Bytes} bytes and {credit.Packets} packets");
        if (!_windows.TryGetValue(credit.Vr, out var window) || window.Peer.RemoteId != from.RemoteId) return;
        if (!credit.Ended) window.Grant(credit.Bytes, credit.Packets);
        else if (_windows.TryRemove(new(credit.Vr, window))) window.Release();
    }

    /// <summary>A local VR ended: every VM that sent to it stops waiting for its credit.</summary>
    public void Ended(VrContext vr)
    {
        foreach (var ledger in vr.LedgersIfAny) SendEnded(ledger.From, vr.Id);
    }

    private void SendEnded(IPeer to, VrId vr) => to.Send(Frames.Control(vm.Serializer, new Credit(vr, 0, 0, Ended: true)));

    /// <summary>A packet arrived from another VM.</summary>
    /// <summary>A packet arrived from another VM in a frame of <paramref name="cost"/> bytes (what its sender charged).</summary>
    public void Receive(Packet packet, IPeer from, int cost)
    {
        _packetsIn.Increment();
        ref var last = ref t_arrival; // by reference: read on every packet received, as the sender reads its route cache
        // Not a killed receiver: a rollback restarts its id here as a new VR, which the cached one would hide (the packet dropped).
        if (last.Router == this && last.Src == packet.Src && last.Dest == packet.Dest && last.From == from && last.Moves == Volatile.Read(ref _moves) && !last.Local!.Killed)
        {
            DeliverRemote(last.Local!, last.Ledger!, packet, cost); // if that VR has ended since, its closed mailbox refuses the packet
            return;
        }
        Learn(packet.Src, from);
        if (vm.TryGetLocal(packet.Dest, out var local))
        {
            var ledger = local.Ledgers.TryGetValue(from.RemoteId, out var known) && known.From == from ? known
                : local.Ledgers[from.RemoteId] = new CreditLedger(vm, from, local.Id);
            t_arrival = (this, packet.Src, packet.Dest, from, local, ledger, Volatile.Read(ref _moves));
            DeliverRemote(local, ledger, packet, cost);
        }
        else
        {
            Drop(packet, $"no VR {packet.Dest} runs on this VM");
            SendEnded(from, packet.Dest);
        }
    }

    // Never refused for being full: the sender's window already bounds what it can have queued here.
    private void DeliverRemote(VrContext local, CreditLedger ledger, Packet packet, int cost)
    {
        var queue = local.Mailbox;
        packet.QueueCost = cost;
        if (queue.Bounded) packet.Ledger = ledger; // credit goes back as the VR takes it
        vm.Observers.Delivered(packet);
        if (!Post(local, packet, ledger.From.RemoteId))
        {
            packet.Ledger = null;
            Drop(packet, "the VR has ended");
            SendEnded(ledger.From, local.Id);
        }
        else if (!queue.Bounded) ledger.Taken(cost, queue); // an unbounded queue takes everything at once
    }

    public void OnLookup(Lookup lookup, IPeer from) =>
        from.Send(Frames.Control(vm.Serializer, new LookupReply(lookup.Id, vm.TryGetLocal(lookup.Id, out _))));

    public void OnLookupReply(LookupReply reply, VmId from)
    {
        List<(Packet Packet, byte[] Frame)>? drop = null;
        lock (_pending)
        {
            if (!_pending.TryGetValue(reply.Id, out var waiting)) return;
            if (reply.Found)
            {
                Learn(reply.Id, from);
                // Sent under the lock, and removed after, so packets sent meanwhile queue behind these: per-sender order holds.
                var peer = vm.Membership.PeerOf(from);
                var window = peer is null ? null : WindowFor(reply.Id, peer);
                foreach (var (p, frame) in waiting.Packets)
                    if (peer is null || !SendCharged(peer, window!, frame)) Drop(p, $"VM {from} left"); // a runtime thread: never waits
                _pending.Remove(reply.Id);
            }
            else if (waiting.Awaiting.Remove(from) && waiting.Awaiting.Count == 0)
            {
                drop = waiting.Packets;
                _pending.Remove(reply.Id);
            }
        }
        foreach (var (p, _) in drop ?? []) Drop(p, "no VM of the cluster knows this VR");
    }

    /// <summary>A member left: lookups no longer wait for its answer, and sends to VRs there throw <see cref="VmGoneException"/>.</summary>
    public void OnMemberLeft(VmId id, string reason)
    {
        if (_gone.Count >= MaxGone) _gone.Clear();
        foreach (var (vr, at) in _locations)
        {
            if (at.RemoteId != id) continue;
            _locations.TryRemove(vr, out _);
            _gone[vr] = (id, reason);
        }
        Interlocked.Increment(ref _moves);
        // Senders waiting for credit from there go on; their packets go the way of any packet to a VM that left.
        foreach (var entry in _windows)
            if (entry.Value.Peer.RemoteId == id && _windows.TryRemove(entry)) entry.Value.Release();
        List<VrId> asked;
        lock (_pending) asked = [.. _pending.Where(p => p.Value.Awaiting.Contains(id)).Select(p => p.Key)];
        foreach (var vr in asked) OnLookupReply(new LookupReply(vr, false), id);
    }

    /// <summary>Gives up lookups that waited longer than <see cref="LookupTimeout"/> (a VM that never answers).</summary>
    public void ExpireLookups()
    {
        List<Packet> drop = [];
        lock (_pending)
        {
            foreach (var (vr, waiting) in _pending.ToList())
            {
                if (Environment.TickCount64 - waiting.Started < LookupTimeout.TotalMilliseconds) continue;
                drop.AddRange(waiting.Packets.Select(p => p.Packet));
                _pending.Remove(vr);
            }
        }
        foreach (var p in drop) Drop(p, $"no VM answered a lookup within {LookupTimeout.TotalSeconds:0.#} s");
    }

    private void StartLookup(Packet packet)
    {
        var frame = FrameOf(packet); // also surfaces a bad value at Send
        var peers = vm.Membership.Peers();
        if (peers.Count == 0)
        {
            Drop(packet, "no VM of the cluster knows this VR");
            return;
        }
        lock (_pending)
        {
            if (_pending.TryGetValue(packet.Dest, out var waiting))
            {
                waiting.Packets.Add((packet, frame));
                return;
            }
            _pending[packet.Dest] = new PendingLookup(peers.Select(p => p.RemoteId)) { Packets = { (packet, frame) } };
        }
        foreach (var peer in peers) peer.Send(Frames.Control(vm.Serializer, new Lookup(packet.Dest)));
    }

    private void Deliver(VrContext local, Packet packet)
    {
        vm.Observers.Delivered(packet);
        if (!Post(local, packet, vm.Id)) Drop(packet, "the VR has ended");
    }

    // A mirror replica's packets, and numbered packets from one, go through its group (ordered, or duplicates dropped);
    // others through the runtime hooks when set (checkpointing), else straight into the queue.
    private bool Post(VrContext local, Packet packet, VmId from) =>
        packet.MirrorSeq != 0 || local.Replica is not null ? vm.Mirrors.Deliver(local, packet, from)
        : vm.Hooks is { } hooks ? hooks.Post(local, packet) : local.Mailbox.Post(packet);

    private void Drop(Packet packet, string reason)
    {
        _undeliverable.Increment();
        if (_dropLog.ShouldLog(packet.Dest.ToString(), out var suppressed)) logger.Undeliverable(packet.Src, packet.Dest, reason, suppressed);
    }

    /// <summary>A packet's frame, kept for sending later.</summary>
    private byte[] FrameOf(Packet packet) => Frames.Packet(vm.Serializer, packet).ToArray();

    private Packet CopyForLocal(Packet packet, VrContext receiver)
    {
        var values = packet.AttributeValues;
        object?[]? copy = null;
        for (var i = 0; i < values.Length; i++)
        {
            if (RiverSerializer.IsImmutable(values[i])) continue;
            copy ??= (object?[])values.Clone();
            using var scope = TypeResolver.Enter(receiver.Run.Code);
            copy[i] = vm.Serializer.Copy(packet.AttributeNames[i], values[i]);
        }
        return copy is null ? packet : new Packet(packet.Src, packet.Dest, packet.AttributeNames, copy) { MirrorSeq = packet.MirrorSeq, CheckpointSeq = packet.CheckpointSeq, Trace = packet.Trace };
    }
}

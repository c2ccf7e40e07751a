using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace River;

/// <summary>
/// Naming and delivery: where a VR lives and how a packet gets there. A local VR's packet goes
/// straight into its mailbox (values copied unless immutable); a remote one is serialized on the
/// sender's thread, so a bad value fails at <c>Send</c>, and goes down the link to its VM. A VR
/// nobody here has heard of is looked up by asking every member; its packets wait, in order.
/// </summary>
internal sealed class Router(RiverVm vm, ILogger logger)
{
    private readonly ConcurrentDictionary<VrId, IPeer> _locations = new();
    private readonly Dictionary<VrId, PendingLookup> _pending = [];
    private readonly StripedCounter _undeliverable = new(), _packetsIn = new(), _packetsOut = new();

    // VRs whose VM is gone, with why: a send to one throws instead of vanishing. Bounded: cleared when full.
    private readonly ConcurrentDictionary<VrId, (VmId Vm, string Reason)> _gone = new();
    private const int MaxGone = 100_000;

    // One line per destination and interval, whatever the flood.
    private readonly LogThrottle _dropLog = new(TimeSpan.FromSeconds(10));

    // A VR sends to one remote peer again and again: its thread keeps the last route, valid until any location changes.
    [ThreadStatic] private static (Router? Router, VrId Dest, IPeer? Peer, int Moves) t_route;

    // Likewise a stream of arrivals between one pair of VRs: the last one's sender was learned and its receiver found.
    [ThreadStatic] private static (Router? Router, VrId Src, VrId Dest, IPeer? From, VrContext? Local, int Moves) t_arrival;
    private int _moves;

    /// <summary>Packets for a VR being looked up, and the VMs yet to answer.</summary>
    private sealed class PendingLookup(IEnumerable<VmId> asked)
    {
        public readonly List<Packet> Packets = [];
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

    public void Send(Packet packet)
    {
        vm.Observers.Sent(packet);
        var route = t_route;
        if (route.Router == this && route.Dest == packet.Dest && route.Moves == Volatile.Read(ref _moves) && _pending.Count == 0)
        {
            SendRemote(route.Peer!, packet);
            return;
        }
        if (vm.TryGetLocal(packet.Dest, out var local))
        {
            Deliver(local, CopyForLocal(packet, local));
            return;
        }
        // Entries leave _pending only after their packets were sent, so a sender that sees none has none waiting.
        if (_pending.Count > 0)
            lock (_pending)
            {
                if (_pending.TryGetValue(packet.Dest, out var waiting))
                {
                    Validate(packet);
                    waiting.Packets.Add(packet);
                    return;
                }
            }
        var moves = Volatile.Read(ref _moves);
        if (_locations.TryGetValue(packet.Dest, out var peer))
        {
            t_route = (this, packet.Dest, peer, moves);
            SendRemote(peer, packet);
            return;
        }
        if (_gone.TryGetValue(packet.Dest, out var gone)) throw new VmGoneException(packet.Dest, gone.Vm, gone.Reason);
        StartLookup(packet);
    }

    private void SendRemote(IPeer peer, Packet packet)
    {
        if (!peer.Send(Frames.Packet(vm.Serializer, packet), Corking.Active))
        {
            // The link closed under this sender: its VM was just declared gone (OnMemberLeft names it here soon after).
            throw _gone.TryGetValue(packet.Dest, out var gone)
                ? new VmGoneException(packet.Dest, gone.Vm, gone.Reason)
                : new VmGoneException(packet.Dest, peer.RemoteId, "its link closed");
        }
        _packetsOut.Increment();
    }

    /// <summary>A packet arrived from another VM.</summary>
    public void Receive(Packet packet, IPeer from)
    {
        _packetsIn.Increment();
        var last = t_arrival;
        if (last.Router == this && last.Src == packet.Src && last.Dest == packet.Dest && last.From == from && last.Moves == Volatile.Read(ref _moves))
        {
            Deliver(last.Local!, packet); // if that VR has ended since, its closed mailbox refuses the packet
            return;
        }
        Learn(packet.Src, from);
        if (vm.TryGetLocal(packet.Dest, out var local))
        {
            t_arrival = (this, packet.Src, packet.Dest, from, local, Volatile.Read(ref _moves));
            Deliver(local, packet);
        }
        else Drop(packet, $"no VR {packet.Dest} runs on this VM");
    }

    public void OnLookup(Lookup lookup, IPeer from) =>
        from.Send(Frames.Control(vm.Serializer, new LookupReply(lookup.Id, vm.TryGetLocal(lookup.Id, out _))));

    public void OnLookupReply(LookupReply reply, VmId from)
    {
        List<Packet>? drop = null;
        lock (_pending)
        {
            if (!_pending.TryGetValue(reply.Id, out var waiting)) return;
            if (reply.Found)
            {
                Learn(reply.Id, from);
                // Sent under the lock, and removed after, so packets sent meanwhile queue behind these: per-sender order holds.
                var peer = vm.Membership.PeerOf(from);
                foreach (var p in waiting.Packets)
                {
                    if (peer is null) Drop(p, $"VM {from} left");
                    else
                    {
                        peer.Send(Frames.Packet(vm.Serializer, p));
                        _packetsOut.Increment();
                    }
                }
                _pending.Remove(reply.Id);
            }
            else if (waiting.Awaiting.Remove(from) && waiting.Awaiting.Count == 0)
            {
                drop = waiting.Packets;
                _pending.Remove(reply.Id);
            }
        }
        foreach (var p in drop ?? []) Drop(p, "no VM of the cluster knows this VR");
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
                drop.AddRange(waiting.Packets);
                _pending.Remove(vr);
            }
        }
        foreach (var p in drop) Drop(p, $"no VM answered a lookup within {LookupTimeout.TotalSeconds:0.#} s");
    }

    private void StartLookup(Packet packet)
    {
        Validate(packet);
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
                waiting.Packets.Add(packet);
                return;
            }
            _pending[packet.Dest] = new PendingLookup(peers.Select(p => p.RemoteId)) { Packets = { packet } };
        }
        foreach (var peer in peers) peer.Send(Frames.Control(vm.Serializer, new Lookup(packet.Dest)));
    }

    private void Deliver(VrContext local, Packet packet)
    {
        vm.Observers.Delivered(packet);
        if (!local.Mailbox.Post(packet)) Drop(packet, "the VR has ended");
    }

    private void Drop(Packet packet, string reason)
    {
        _undeliverable.Increment();
        if (_dropLog.ShouldLog(packet.Dest.ToString(), out var suppressed)) logger.Undeliverable(packet.Src, packet.Dest, reason, suppressed);
    }

    /// <summary>Serializes once to surface a bad value at <c>Send</c>, for packets that will be serialized later.</summary>
    private void Validate(Packet packet) => _ = Frames.Packet(vm.Serializer, packet);

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
        return copy is null ? packet : new Packet(packet.Src, packet.Dest, packet.AttributeNames, copy);
    }
}

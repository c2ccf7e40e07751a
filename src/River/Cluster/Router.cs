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
    private readonly ConcurrentDictionary<VrId, VmId> _locations = new();
    private readonly Dictionary<VrId, PendingLookup> _pending = [];
    private long _undeliverable, _packetsIn, _packetsOut;

    private sealed class PendingLookup(int awaiting)
    {
        public readonly List<Packet> Packets = [];
        public int Awaiting = awaiting;
    }

    public long Undeliverable => Interlocked.Read(ref _undeliverable);
    public long PacketsIn => Interlocked.Read(ref _packetsIn);
    public long PacketsOut => Interlocked.Read(ref _packetsOut);

    public void Learn(VrId vr, VmId where)
    {
        if (where != vm.Id) _locations[vr] = where;
    }

    public void Send(Packet packet)
    {
        vm.Observers.Sent(packet);
        if (vm.TryGetLocal(packet.Dest, out var local))
        {
            Deliver(local, CopyForLocal(packet, local));
            return;
        }
        lock (_pending)
        {
            if (_pending.TryGetValue(packet.Dest, out var waiting))
            {
                Validate(packet);
                waiting.Packets.Add(packet);
                return;
            }
        }
        if (_locations.TryGetValue(packet.Dest, out var at) && vm.Membership.PeerOf(at) is { } peer)
        {
            peer.Send(Frames.Packet(vm.Serializer, packet));
            Interlocked.Increment(ref _packetsOut);
            return;
        }
        StartLookup(packet);
    }

    /// <summary>A packet arrived from another VM.</summary>
    public void Receive(Packet packet, VmId from)
    {
        Interlocked.Increment(ref _packetsIn);
        Learn(packet.Src, from);
        if (vm.TryGetLocal(packet.Dest, out var local)) Deliver(local, packet);
        else Drop(packet, $"no VR {packet.Dest} runs on this VM");
    }

    public void OnLookup(Lookup lookup, IPeer from) =>
        from.Send(Frames.Control(vm.Serializer, new LookupReply(lookup.Id, vm.TryGetLocal(lookup.Id, out _))));

    public void OnLookupReply(LookupReply reply, VmId from)
    {
        List<Packet>? flush = null, drop = null;
        lock (_pending)
        {
            if (!_pending.TryGetValue(reply.Id, out var waiting)) return;
            if (reply.Found)
            {
                Learn(reply.Id, from);
                flush = waiting.Packets;
                _pending.Remove(reply.Id);
                // Sent under the lock so packets sent meanwhile queue behind these: per-sender order holds.
                var peer = vm.Membership.PeerOf(from);
                foreach (var p in flush)
                {
                    if (peer is null) Drop(p, $"VM {from} left");
                    else
                    {
                        peer.Send(Frames.Packet(vm.Serializer, p));
                        Interlocked.Increment(ref _packetsOut);
                    }
                }
            }
            else if (--waiting.Awaiting == 0)
            {
                drop = waiting.Packets;
                _pending.Remove(reply.Id);
            }
        }
        foreach (var p in drop ?? []) Drop(p, "no VM of the cluster knows this VR");
    }

    /// <summary>A member left: lookups no longer wait for its answer, and VRs there are unreachable.</summary>
    public void OnMemberLeft(VmId id)
    {
        foreach (var (vr, at) in _locations)
            if (at == id) _locations.TryRemove(vr, out _);
        foreach (var reply in _pending.Keys.ToList()) OnLookupReply(new LookupReply(reply, false), id);
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
            _pending[packet.Dest] = new PendingLookup(peers.Count) { Packets = { packet } };
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
        Interlocked.Increment(ref _undeliverable);
        logger.Undeliverable(packet.Src, packet.Dest, reason);
    }

    /// <summary>Serializes once to surface a bad value at <c>Send</c>, for packets that will be serialized later.</summary>
    private void Validate(Packet packet) => _ = Frames.Packet(vm.Serializer, packet);

    private Packet CopyForLocal(Packet packet, VrContext receiver)
    {
        using var scope = TypeResolver.Enter(receiver.Run.Code);
        var values = packet.AttributeValues;
        object?[]? copy = null;
        for (var i = 0; i < values.Length; i++)
        {
            if (RiverSerializer.IsImmutable(values[i])) continue;
            copy ??= (object?[])values.Clone();
            copy[i] = vm.Serializer.Copy(packet.AttributeNames[i], values[i]);
        }
        return copy is null ? packet : new Packet(packet.Src, packet.Dest, packet.AttributeNames, copy);
    }
}

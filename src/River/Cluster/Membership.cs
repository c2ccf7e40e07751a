namespace River;

/// <summary>The VMs this VM knows, with the link to each; wakes <c>Discover</c> calls waiting for a change.</summary>
internal sealed class Membership
{
    private readonly Lock _lock = new();
    private readonly Dictionary<VmId, Member> _members = [];
    private TaskCompletionSource _changed = NewSignal();
    // VMs linked to this one or named by gossip, and whether each has sent its member list yet (see Settled).
    private readonly Dictionary<VmId, bool> _heardOf = [];

    public sealed record Member(VmInfo Info, IPeer? Peer, bool Suspected = false);

    /// <summary>The members not suspected: those <c>Discover</c> shows and gossip names.</summary>
    public IReadOnlyList<Member> Snapshot()
    {
        lock (_lock) return [.. _members.Values.Where(m => !m.Suspected)];
    }

    /// <summary>Marks a member suspected or not; true when that changed.</summary>
    public bool Suspect(VmId id, bool suspected)
    {
        lock (_lock)
        {
            if (!_members.TryGetValue(id, out var m) || m.Suspected == suspected) return false;
            _members[id] = m with { Suspected = suspected };
        }
        Signal();
        return true;
    }

    /// <summary>True while <paramref name="id"/> is a member and not suspected.</summary>
    public bool IsLive(VmId id)
    {
        lock (_lock) return _members.TryGetValue(id, out var m) && !m.Suspected;
    }

    public IPeer? PeerOf(VmId id)
    {
        lock (_lock) return _members.TryGetValue(id, out var m) ? m.Peer : null;
    }

    public IReadOnlyList<IPeer> Peers()
    {
        lock (_lock) return [.. _members.Values.Select(m => m.Peer).OfType<IPeer>()];
    }

    /// <summary>Adds or updates a member; true when it is new.</summary>
    public bool Upsert(VmInfo info, IPeer? peer)
    {
        bool added;
        lock (_lock)
        {
            added = !_members.TryGetValue(info.Id, out var old);
            _members[info.Id] = new Member(info, peer ?? old?.Peer, old?.Suspected ?? false);
        }
        Signal();
        return added;
    }

    public bool Remove(VmId id)
    {
        bool removed;
        lock (_lock)
        {
            removed = _members.Remove(id);
            _heardOf.Remove(id); // gone: a join waits for it no longer
        }
        if (removed) Signal();
        return removed;
    }

    /// <summary>VM <paramref name="id"/> was linked to this one or named by gossip: a joining VM waits to hear from it (<see cref="Settled"/>).</summary>
    public void HeardOf(VmId id)
    {
        lock (_lock) _heardOf.TryAdd(id, false);
    }

    /// <summary>
    /// VM <paramref name="id"/> sent its member list, naming <paramref name="named"/>: every VM does once it took this one in.
    /// One step, so a join never finds the list's sender settled before the VMs it named are heard of.
    /// </summary>
    public void Listed(VmId id, IEnumerable<VmId> named)
    {
        lock (_lock)
        {
            foreach (var other in named) _heardOf.TryAdd(other, false);
            _heardOf[id] = true;
        }
        Signal();
    }

    /// <summary>VM <paramref name="id"/> was heard of but could not be reached (nothing listens there, or it refused): a join waits for it no longer.</summary>
    public void GiveUp(VmId id)
    {
        bool removed;
        lock (_lock) removed = !_members.ContainsKey(id) && _heardOf.Remove(id);
        if (removed) Signal();
    }

    /// <summary>
    /// True once every VM heard of (and not given up on) is a member and has sent its member list. Timers alone cannot tell: on a busy
    /// machine a seed's list can come after any quiet period, and a program would start seeing only part of the cluster.
    /// </summary>
    public bool Settled
    {
        get
        {
            lock (_lock) return _heardOf.All(h => h.Value && _members.ContainsKey(h.Key));
        }
    }

    /// <summary>
    /// True once two VMs sent their member lists: each told its members of this VM when it linked, so a VM that links
    /// later need not tell them again (two, so that one failing meanwhile does not leave this VM unknown to some).
    /// </summary>
    public bool Introduced
    {
        get
        {
            lock (_lock) return _heardOf.Count(h => h.Value) >= 2;
        }
    }

    /// <summary>Completes at the next change.</summary>
    public Task Changed
    {
        get { lock (_lock) return _changed.Task; }
    }

    private void Signal()
    {
        TaskCompletionSource old;
        lock (_lock)
        {
            old = _changed;
            _changed = NewSignal();
        }
        old.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

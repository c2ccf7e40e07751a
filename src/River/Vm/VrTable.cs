namespace River;

/// <summary>
/// A VM's running VRs by id. Lookups take no lock (every local send makes one); starts and ends take one.
/// Open addressing over an array of slots, so a VR costs a slot, not an object: a <c>ConcurrentDictionary</c>
/// keeps a 56-byte node per entry and, each time it grows, makes every node anew, which a VM starting a
/// million VRs paid as a million more objects for the collector to promote and mark.
/// </summary>
internal sealed class VrTable
{
    // Stands in a slot whose VR was removed: a lookup probes past it, an insert may reuse it.
    private static readonly object Removed = new();

    private struct Slot
    {
        public int Hash;
        public object? Entry; // a VrContext, Removed, or null (never used: a probe stops here)
    }

    private readonly Lock _lock = new();
    private Slot[] _slots = new Slot[16]; // a power of two; replaced, never changed, once grown: readers keep a consistent copy
    private int _count, _removed;

    /// <summary>VRs in the table now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The VR of <paramref name="id"/>, if it runs here.</summary>
    public bool TryGetValue(VrId id, out VrContext context)
    {
        var hash = id.GetHashCode();
        while (true)
        {
            var slots = Volatile.Read(ref _slots);
            if (Find(slots, id, hash) is { } found && slots[found].Entry is VrContext c)
            {
                context = c;
                return true;
            }
            // Missed while the table grew: the VR may have been added to the new array only.
            if (ReferenceEquals(slots, Volatile.Read(ref _slots)))
            {
                context = null!;
                return false;
            }
        }
    }

    /// <summary>Adds <paramref name="context"/>, or puts it in the place of a VR of the same id.</summary>
    public void Set(VrContext context)
    {
        var hash = context.Id.GetHashCode();
        lock (_lock)
        {
            if (Find(_slots, context.Id, hash) is { } existing)
            {
                Volatile.Write(ref _slots[existing].Entry, context);
                return;
            }
            if ((_count + _removed + 1) * 2 > _slots.Length) Rebuild();
            if (Place(_slots, hash, context)) _removed--;
            _count++;
        }
    }

    /// <summary>Removes <paramref name="context"/> if it is still the VR of its id here (not a restarted one).</summary>
    public void Remove(VrContext context)
    {
        lock (_lock)
        {
            if (Find(_slots, context.Id, context.Id.GetHashCode()) is not { } found || !ReferenceEquals(_slots[found].Entry, context)) return;
            Volatile.Write(ref _slots[found].Entry, Removed);
            _count--;
            _removed++;
        }
    }

    /// <summary>The VRs now: a snapshot, consistent as of some moment while it is read.</summary>
    public IEnumerable<VrContext> Values
    {
        get
        {
            var slots = Volatile.Read(ref _slots);
            for (var i = 0; i < slots.Length; i++)
                if (Volatile.Read(ref slots[i].Entry) is VrContext c) yield return c;
        }
    }

    /// <summary>The slot holding <paramref name="id"/>'s VR, if any.</summary>
    private static int? Find(Slot[] slots, VrId id, int hash)
    {
        var mask = slots.Length - 1;
        for (var i = hash & mask; ; i = (i + 1) & mask)
        {
            // The entry is read before the hash: Place writes the hash first, so a new entry comes with its own hash.
            var entry = Volatile.Read(ref slots[i].Entry);
            if (entry is null) return null;
            if (slots[i].Hash == hash && entry is VrContext c && c.Id == id) return i;
        }
    }

    /// <summary>Puts <paramref name="context"/> in the first free slot from its hash on; true when that slot was a removed VR's.</summary>
    private static bool Place(Slot[] slots, int hash, VrContext context)
    {
        var mask = slots.Length - 1;
        var i = hash & mask;
        while (slots[i].Entry is VrContext) i = (i + 1) & mask;
        var reused = slots[i].Entry is not null;
        slots[i].Hash = hash;
        Volatile.Write(ref slots[i].Entry, context);
        return reused;
    }

    /// <summary>Copies the VRs into a new array, twice as large when they fill a quarter or more, and publishes it.</summary>
    private void Rebuild()
    {
        var old = _slots;
        var slots = new Slot[(_count + 1) * 4 > old.Length ? old.Length * 2 : old.Length];
        foreach (var slot in old)
            if (slot.Entry is VrContext c) Place(slots, slot.Hash, c);
        _removed = 0;
        Volatile.Write(ref _slots, slots);
    }
}

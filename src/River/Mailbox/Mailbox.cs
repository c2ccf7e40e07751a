namespace River;

/// <summary>
/// A VR's queue with selective receive. Packets sit in one arrival-ordered list; once more than a few
/// are queued, an attribute that receives match on by value (<c>tag</c>, <c>src</c>, ...) gets an index
/// from value to the packets holding it, built on first use, so a keyed receive never scans packets
/// that cannot match. Indexes are dropped when the queue empties.
/// A parked receiver whose match a new packet satisfies gets it handed over without queueing.
/// </summary>
internal sealed class Mailbox
{
    private const int MaxIndexes = 4;

    // Below this many queued packets a scan is cheaper than keeping an index up to date.
    private const int IndexThreshold = 32;

    private readonly Lock _lock = new();
    private Entry? _head, _tail;
    private int _count;
    private AttributeIndex[]? _indexes;
    private IPacketWaiter? _waiter;
    private Matcher? _waiterMatch;
    private bool _closed;

    /// <summary>Bumped on every post; lets a spinning receiver notice arrivals without the lock.</summary>
    public int Version;

    public int Count => _count;

    /// <summary>Queues <paramref name="packet"/> or hands it to the parked receiver; false once closed.</summary>
    public bool Post(Packet packet)
    {
        IPacketWaiter? handoff = null;
        lock (_lock)
        {
            if (_closed) return false;
            if (_waiter is not null && _waiterMatch!.Matches(packet))
            {
                handoff = _waiter;
                _waiter = null;
                _waiterMatch = null;
            }
            else Append(packet);
            Version++;
        }
        handoff?.Complete(packet);
        return true;
    }

    /// <summary>Removes and returns the oldest packet that matches.</summary>
    public bool TryTake(Matcher match, out Packet packet)
    {
        lock (_lock)
        {
            var e = Find(match);
            if (e is null)
            {
                packet = null!;
                return false;
            }
            Remove(e);
            packet = e.Packet;
            return true;
        }
    }

    public Packet? Peek(Matcher match)
    {
        lock (_lock) return Find(match)?.Packet;
    }

    /// <summary>Takes the oldest match, or parks <paramref name="waiter"/> until a matching packet arrives.</summary>
    public Packet? TakeOrPark(Matcher match, IPacketWaiter waiter)
    {
        lock (_lock)
        {
            var e = Find(match);
            if (e is not null)
            {
                Remove(e);
                return e.Packet;
            }
            if (_waiter is not null) throw new InvalidOperationException("A VR receives one packet at a time; another receive is already waiting.");
            if (_closed) throw ClosedError();
            _waiter = waiter;
            _waiterMatch = match;
            return null;
        }
    }

    /// <summary>Unparks <paramref name="waiter"/>; false when a packet was already handed to it.</summary>
    public bool Unpark(IPacketWaiter waiter)
    {
        lock (_lock)
        {
            if (!ReferenceEquals(_waiter, waiter)) return false;
            _waiter = null;
            _waiterMatch = null;
            return true;
        }
    }

    /// <summary>Refuses further packets and releases the queue; returns what was still queued, oldest first.</summary>
    public List<Packet> Close()
    {
        IPacketWaiter? parked;
        List<Packet> left;
        lock (_lock)
        {
            _closed = true;
            parked = _waiter;
            _waiter = null;
            _waiterMatch = null;
            left = new List<Packet>(_count);
            for (var e = _head; e is not null; e = e.Next) left.Add(e.Packet);
            _head = _tail = null;
            _count = 0;
            _indexes = null;
        }
        parked?.Fail(ClosedError());
        return left;
    }

    private static OperationCanceledException ClosedError() => new("The VR's queue was closed: the VR ended or its VM is stopping.");

    private void Append(Packet packet)
    {
        var e = new Entry(packet) { Prev = _tail };
        if (_tail is null) _head = e;
        else _tail.Next = e;
        _tail = e;
        _count++;
        if (_indexes is { } ixs)
            foreach (var ix in ixs) ix.Add(e);
    }

    private void Remove(Entry e)
    {
        if (e.Prev is null) _head = e.Next;
        else e.Prev.Next = e.Next;
        if (e.Next is null) _tail = e.Prev;
        else e.Next.Prev = e.Prev;
        e.Removed = true;
        _count--;
        if (_indexes is not { } ixs) return;
        if (_count == 0) _indexes = null; // a receiver that keeps up never pays for indexes
        else
            foreach (var ix in ixs) ix.NoteRemoved(e, this);
    }

    private Entry? Find(Matcher match)
    {
        if (_head is null) return null;
        if (match.Matches(_head.Packet)) return _head; // a receiver that keeps up: no index needed
        if (match.KeyName is { } key && (_count > IndexThreshold || _indexes is not null) && IndexFor(key) is { } index)
            return index.Find(match);
        for (var e = _head; e is not null; e = e.Next)
            if (match.Matches(e.Packet)) return e;
        return null;
    }

    private AttributeIndex? IndexFor(string name)
    {
        if (_indexes is { } ixs)
        {
            foreach (var ix in ixs)
                if (ix.Name == name) return ix;
            if (ixs.Length == MaxIndexes) return null;
        }
        var created = new AttributeIndex(name);
        for (var e = _head; e is not null; e = e.Next) created.Add(e);
        _indexes = [.. _indexes ?? [], created];
        return created;
    }

    /// <summary>Rebuilds one index from the live list (drops entries removed through other paths).</summary>
    private void Rebuild(AttributeIndex index)
    {
        index.Clear();
        for (var e = _head; e is not null; e = e.Next) index.Add(e);
    }

    private sealed class Entry(Packet packet)
    {
        public readonly Packet Packet = packet;
        public Entry? Prev, Next;
        public bool Removed;
    }

    /// <summary>
    /// Value → arrival-ordered entries holding it. Removal elsewhere is lazy: dead entries are skipped
    /// and dropped from a bucket's front; when they outnumber the live ones the index is rebuilt,
    /// which keeps memory bounded and the cost amortized O(1) per packet.
    /// </summary>
    private sealed class AttributeIndex(string name)
    {
        private static readonly object NullKey = new();
        private readonly Dictionary<object, Queue<Entry>> _buckets = [];
        private int _live, _dead;

        public string Name { get; } = name;

        public void Add(Entry e)
        {
            if (!e.Packet.TryGetValue(Name, out var value)) return;
            var key = value ?? NullKey;
            if (!_buckets.TryGetValue(key, out var q)) _buckets[key] = q = new Queue<Entry>(4);
            q.Enqueue(e);
            _live++;
        }

        public void NoteRemoved(Entry e, Mailbox owner)
        {
            if (!e.Packet.TryGetValue(Name, out var value)) return;
            _live--;
            var q = _buckets[value ?? NullKey];
            if (ReferenceEquals(q.Peek(), e))
            {
                q.Dequeue();
                DropDeadFront(q, value ?? NullKey);
            }
            else if (++_dead > _live + 64) owner.Rebuild(this);
        }

        public Entry? Find(Matcher match)
        {
            if (!_buckets.TryGetValue(match.KeyValue!, out var q)) return null;
            foreach (var e in q)
                if (!e.Removed && match.Matches(e.Packet)) return e;
            return null;
        }

        public void Clear()
        {
            _buckets.Clear();
            _live = _dead = 0;
        }

        private void DropDeadFront(Queue<Entry> q, object key)
        {
            while (q.TryPeek(out var head) && head.Removed)
            {
                q.Dequeue();
                _dead--;
            }
            if (q.Count == 0) _buckets.Remove(key);
        }
    }
}

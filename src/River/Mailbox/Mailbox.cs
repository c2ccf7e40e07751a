namespace River;

/// <summary>
/// A VR's queue with selective receive. Senders only append to a lock-free inbound chain (one atomic
/// exchange; Vyukov's MPSC queue), so they never contend with the receiver; the receiver moves
/// arrivals into its own arrival-ordered list when it looks (a receiver that keeps up takes the next
/// arrival straight from the chain); each packet is its own node, so queueing allocates nothing. Once
/// more than a few are queued, an attribute that receives match on by value (<c>tag</c>, <c>src</c>, ...)
/// gets an index from value to the packets holding it, built on first use, so a keyed receive never
/// scans packets that cannot match. Indexes are dropped when the queue empties. A receiver that parks is woken only by a packet its match accepts.
/// A bounded mailbox counts what it holds against its <see cref="QueueLimit"/>: local senders wait on it
/// (it is their <see cref="FlowGate"/>), and credit for remote senders is held while it is over.
/// </summary>
internal class Mailbox : FlowGate
{
    private const int MaxIndexes = 4;

    // Below this many queued packets a scan is cheaper than keeping an index up to date.
    private const int IndexThreshold = 32;

    // The inbound chain: senders swap themselves in at _arrived; the receiver follows InboundNext from _taken.
    // Both stay null until the first packet (the first sender hands it over in _first), so an idle VR's
    // mailbox needs no stub node; after that the last packet drained is the stub.
    private Packet? _arrived, _taken, _first;
    // The receiver's side is guarded by this object's monitor (lock (this)): senders never take it, and a
    // separate lock object would be one more object per VR, a million of them kept by a VM of a million VRs.
    private Packet? _head, _tail;
    private int _count;
    private AttributeIndex[]? _indexes;
    private IPacketWaiter? _waiter;
    private volatile Matcher? _waiterMatch;
    private int _parked;
    private volatile bool _closed;
    private System.Collections.Concurrent.ConcurrentQueue<Exception>? _raised; // created by the first Raise: most VRs never get one

    private readonly VrId _owner;
    private readonly bool _bounded;
    private readonly long _maxBytes;
    private readonly int _maxPackets;
    // Senders count what they queue (locked adds); the receiver counts what it takes, alone, under its lock. A take
    // writes nothing a sender writes, so the two sides do not trade a cache line with a locked add each per packet.
    private long _queuedBytes, _queuedPackets, _takenBytes, _takenPackets;
    private Lock? _heldLock; // created by the first HoldCredit
    private List<CreditLedger>? _held;
    // Credit for the packets taken last from one sending VM, counted into its ledger a batch at a time (a locked add per
    // batch, not per packet); guarded by the receiver's lock. A batch goes to the ledger once it would take the ledger to
    // half a window (when credit goes back), after OwedBatch packets, when a packet from another VM is taken, and when a
    // take finds nothing (the receiver may park): credit never goes back later than counting every packet would send it.
    private CreditLedger? _owedTo;
    private long _owed; // bytes and packets, packed (FlowControl.Pack)
    private const long OwedBatch = 32;

    /// <summary>An unbounded mailbox.</summary>
    public Mailbox()
    {
    }

    /// <summary>The mailbox of VR <paramref name="owner"/>, holding at most what <paramref name="limit"/> says.</summary>
    public Mailbox(VrId owner, QueueLimit limit)
    {
        _owner = owner;
        _bounded = !limit.IsUnbounded;
        (_maxBytes, _maxPackets) = (limit.MaxBytes, limit.MaxPackets);
    }

    /// <summary>False for <see cref="QueueLimit.Unbounded"/>: nothing is counted, nobody waits.</summary>
    public bool Bounded => _bounded;

    protected sealed override VrId Guarded => _owner;

    /// <summary>At or over the limit (a closed mailbox never is: senders go on, and their packets are refused).</summary>
    public sealed override bool Blocked => _bounded && !_closed
        && Held() is var (bytes, packets) && (packets >= _maxPackets || bytes >= _maxBytes);

    // A take does not fence (see Taken): a local sender that must wait is rare, a take is every packet.
    protected sealed override void FenceAfterRegistering() => Interlocked.MemoryBarrierProcessWide();

    // Waiters go on once a quarter of the queue has been taken, not at every packet.
    protected sealed override bool Resumable => !_bounded || _closed
        || (Held() is var (bytes, packets) && packets <= _maxPackets - (_maxPackets >> 2) && bytes <= _maxBytes - (_maxBytes >> 2));

    // Taken is read first: a sender adding meanwhile can make this more than the queue holds, never less.
    private (long Bytes, long Packets) Held()
    {
        var (bytes, packets) = (Volatile.Read(ref _takenBytes), Volatile.Read(ref _takenPackets));
        return (Volatile.Read(ref _queuedBytes) - bytes, Volatile.Read(ref _queuedPackets) - packets);
    }

    /// <summary>Packets queued, arrivals not yet sorted included.</summary>
    public int Count
    {
        get
        {
            lock (this)
            {
                Drain();
                return _count;
            }
        }
    }

    /// <summary>True when packets arrived since the receiver last looked; a spinning receiver polls it.</summary>
    public bool HasArrivals => Volatile.Read(ref _arrived) != _taken;

    /// <summary>Queues <paramref name="packet"/> and wakes the parked receiver if it wants it; false once closed.</summary>
    public bool Post(Packet packet)
    {
        if (_closed) return false;
        packet.QueueNext = packet.InboundNext = null; // links from a queue it was in before, if any
        packet.Dequeued = false;
        if (_bounded)
        {
            Interlocked.Add(ref _queuedBytes, packet.QueueCost);
            Interlocked.Increment(ref _queuedPackets);
        }
        var previous = Interlocked.Exchange(ref _arrived, packet);
        if (previous is null) Volatile.Write(ref _first, packet);
        else Volatile.Write(ref previous.InboundNext, packet);
        // The exchange is a full fence: either the receiver, parking, sees this packet, or we see it parked.
        if (Volatile.Read(ref _parked) == 1 && _waiterMatch is { } wanted && wanted.Matches(packet)
            && Interlocked.CompareExchange(ref _parked, 0, 1) == 1)
            _waiter!.Wake();
        return true;
    }

    /// <summary>Removes and returns the oldest packet that matches.</summary>
    public bool TryTake(Matcher match, out Packet packet)
    {
        Packet? e;
        OwedCredit owed = default;
        lock (this) e = TakeLocked(match, ref owed);
        owed.Count(this);
        packet = e!;
        if (e is null) return false;
        Taken(e);
        return true;
    }

    /// <summary>Removes every queued packet that matches (a notice withdrawn: <c>Demonitor</c>, <c>Unlink</c>).</summary>
    public void Discard(Matcher match)
    {
        while (TryTake(match, out _))
        {
        }
    }

    public Packet? Peek(Matcher match)
    {
        lock (this)
        {
            Drain();
            return Find(match);
        }
    }

    /// <summary>
    /// Takes the oldest match, or parks <paramref name="waiter"/> until a packet it wants arrives:
    /// then <see cref="IPacketWaiter.Wake"/> is called once, and the receiver asks again.
    /// </summary>
    public Packet? TakeOrPark(Matcher match, IPacketWaiter waiter)
    {
        OwedCredit owed = default;
        Packet? taken;
        try
        {
            taken = TakeOrParkLocked(match, waiter, ref owed);
        }
        finally
        {
            owed.Count(this);
        }
        return taken is null ? null : Taken(taken);
    }

    private Packet? TakeOrParkLocked(Matcher match, IPacketWaiter waiter, ref OwedCredit owed)
    {
        lock (this)
        {
            var e = TakeLocked(match, ref owed);
            if (e is not null) return e;
            if (_closed) throw ClosedError();
            ThrowRaised();
            if (Volatile.Read(ref _parked) == 1) throw new InvalidOperationException("A VR receives one packet at a time; another receive is already waiting.");
            _waiter = waiter;
            _waiterMatch = match;
            Interlocked.Exchange(ref _parked, 1);
            if (Volatile.Read(ref _raised) is { IsEmpty: false })
            {
                // Raised while parking: unpark (or let the wake on its way land) and throw it.
                if (Interlocked.CompareExchange(ref _parked, 0, 1) != 1) waiter.AbsorbWake();
                ThrowRaised();
            }
            if (!HasArrivals) return null;
            // Something arrived while parking: look again, and unpark if it is wanted.
            if ((e = TakeLocked(match, ref owed)) is null) return null;
            if (Interlocked.CompareExchange(ref _parked, 0, 1) != 1) waiter.AbsorbWake();
            return e;
        }
    }

    /// <summary>Removes the oldest match and counts it taken; the caller holds the lock, and counts <paramref name="owed"/> after it.</summary>
    private Packet? TakeLocked(Matcher match, ref OwedCredit owed)
    {
        Packet? e;
        // A receiver that keeps up: nothing sorted yet and the next arrival is wanted, so it never enters the list.
        if (_head is null && NextArrival() is { } next && match.Matches(next))
        {
            Advance(next);
            next.Dequeued = true;
            e = next;
        }
        else
        {
            Drain();
            if ((e = Find(match)) is null)
            {
                Settle(ref owed);
                return null;
            }
            Remove(e);
        }
        if (_bounded)
        {
            Volatile.Write(ref _takenBytes, _takenBytes + e.QueueCost);
            Volatile.Write(ref _takenPackets, _takenPackets + 1);
        }
        if (e.Ledger is { } ledger) Owe(ledger, e, ref owed);
        return e;
    }

    /// <summary>Adds <paramref name="e"/>'s credit to the batch when it came from the batch's VM (else it is counted at once, by Taken).</summary>
    private void Owe(CreditLedger ledger, Packet e, ref OwedCredit owed)
    {
        if (ledger != _owedTo)
        {
            Settle(ref owed);
            _owedTo = ledger;
            return;
        }
        e.Ledger = null; // a packet the VR keeps must not keep the ledger alive
        _owed += FlowControl.Pack(e.QueueCost, 1);
        if (FlowControl.PacketsOf(_owed) >= OwedBatch || ledger.HalfWindowWith(_owed)) Settle(ref owed);
    }

    /// <summary>Hands the batch over to be counted once the lock is released (added to one handed over before under the same lock hold).</summary>
    private void Settle(ref OwedCredit owed)
    {
        if (_owed == 0) return;
        // Only the batch's ledger can have been handed over before: the batch changes ledger only once it is empty.
        System.Diagnostics.Debug.Assert(owed.Ledger is null || owed.Ledger == _owedTo);
        owed = new OwedCredit(_owedTo!, owed.Amount + _owed);
        _owed = 0;
    }

    /// <summary>A batch of credit taken out of the lock: counted into its ledger, which may send it back.</summary>
    private readonly record struct OwedCredit(CreditLedger? Ledger, long Amount)
    {
        public void Count(Mailbox queue) => Ledger?.TakenBatch(Amount, queue);
    }

    /// <summary>
    /// Hands the VR <paramref name="error"/> to throw from its next receive (or River call that checks
    /// <see cref="ThrowRaised"/>): a receiver parked now wakes and throws it. Each error is thrown once.
    /// </summary>
    public void Raise(Exception error)
    {
        if (_closed) return;
        var raised = LazyInitializer.EnsureInitialized(ref _raised, static () => new());
        raised.Enqueue(error);
        // The enqueue is a full fence: either the receiver, parking, sees the error, or we see it parked.
        if (Interlocked.CompareExchange(ref _parked, 0, 1) == 1) _waiter!.Wake();
    }

    /// <summary>Throws the oldest error handed over by <see cref="Raise"/>, if any (removing it).</summary>
    public void ThrowRaised()
    {
        if (Volatile.Read(ref _raised) is { } raised && raised.TryDequeue(out var error)) throw error;
    }

    /// <summary>Drops what <see cref="Raise"/> handed over and <paramref name="withdrawn"/> selects (an unlink takes back a pending error).</summary>
    public void Unraise(Func<Exception, bool> withdrawn)
    {
        if (Volatile.Read(ref _raised) is not { } raised) return;
        var kept = new List<Exception>();
        while (raised.TryDequeue(out var error))
            if (!withdrawn(error)) kept.Add(error);
        foreach (var error in kept) raised.Enqueue(error);
    }

    /// <summary>Whether a receiver is parked on this mailbox now.</summary>
    public bool ReceiverParked => Volatile.Read(ref _parked) == 1;

    /// <summary>Unparks <paramref name="waiter"/> (timeout, cancel); false when a wake is already on its way to it.</summary>
    public bool Unpark(IPacketWaiter waiter) =>
        ReferenceEquals(_waiter, waiter) && Interlocked.CompareExchange(ref _parked, 0, 1) == 1;

    /// <summary>What is queued now, oldest first, left in place (a checkpoint saves it).</summary>
    public List<Packet> Snapshot()
    {
        lock (this)
        {
            Drain();
            var all = new List<Packet>(_count);
            for (var e = _head; e is not null; e = e.QueueNext) all.Add(e);
            return all;
        }
    }

    /// <summary>Refuses further packets and releases the queue; returns what was still queued, oldest first.</summary>
    public List<Packet> Close()
    {
        _closed = true;
        List<Packet> left;
        lock (this)
        {
            Drain();
            left = new List<Packet>(_count);
            for (var e = _head; e is not null; e = e.QueueNext) left.Add(e);
            _head = _tail = null;
            _count = 0;
            _indexes = null;
        }
        if (Interlocked.CompareExchange(ref _parked, 0, 1) == 1) _waiter!.Fail(ClosedError());
        Wake(); // senders waiting for room go on; their packets are refused
        return left;
    }

    /// <summary>Keeps a remote sender's credit until the queue is below its limit again.</summary>
    public void HoldCredit(CreditLedger ledger)
    {
        lock (HeldLock)
        {
            _held ??= [];
            if (!_held.Contains(ledger)) _held.Add(ledger);
        }
        if (!Blocked) ReturnHeldCredit(); // the last take may have come just before
    }

    /// <summary>Accounting after a packet left the queue, outside the receiver's lock: room for local senders, credit for remote ones, and a traced packet's receive span.</summary>
    private Packet Taken(Packet e)
    {
        if (_bounded)
        {
            // No fence between the counts TakeLocked wrote and the look for waiters in Wake: a waiter fences every thread
            // after it registers (FenceAfterRegistering), so it sees these counts or this look sees it.
            if (Resumable) Wake();
            if (Volatile.Read(ref _held) is not null && !Blocked) ReturnHeldCredit();
        }
        if (e.Ledger is { } ledger)
        {
            e.Ledger = null; // a packet the VR keeps must not keep the ledger alive
            ledger.Taken(e.QueueCost, this);
        }
        if (e.Trace is { } trace) PacketTracing.Received(e, trace);
        return e;
    }

    private void ReturnHeldCredit()
    {
        List<CreditLedger>? held;
        lock (HeldLock) (held, _held) = (_held, null);
        foreach (var ledger in held ?? []) ledger.Return();
    }

    private Lock HeldLock => LazyInitializer.EnsureInitialized(ref _heldLock, static () => new());

    private static OperationCanceledException ClosedError() => new("The VR's queue was closed: the VR ended or its VM is stopping.");

    /// <summary>Moves every arrival into the list; waits out a sender caught between its two steps.</summary>
    private void Drain()
    {
        var spinner = new SpinWait();
        while (true)
        {
            var next = NextArrival();
            if (next is null)
            {
                if (Volatile.Read(ref _arrived) == _taken) return;
                spinner.SpinOnce();
                continue;
            }
            Advance(next);
            Append(next);
        }
    }

    /// <summary>The oldest arrival not yet moved into the list; null also while its sender is between its two steps.</summary>
    private Packet? NextArrival() => _taken is null ? Volatile.Read(ref _first) : Volatile.Read(ref _taken.InboundNext);

    /// <summary>Moves the receiver's end of the inbound chain to <paramref name="next"/>, which becomes the stub.</summary>
    private void Advance(Packet next)
    {
        if (_taken is null) _first = null;
        else _taken.InboundNext = null; // the chain behind the receiver must not keep packets alive
        _taken = next;
    }

    private void Append(Packet e)
    {
        e.QueuePrev = _tail;
        if (_tail is null) _head = e;
        else _tail.QueueNext = e;
        _tail = e;
        _count++;
        if (_indexes is { } ixs)
            foreach (var ix in ixs) ix.Add(e);
    }

    private void Remove(Packet e)
    {
        if (e.QueuePrev is null) _head = e.QueueNext;
        else e.QueuePrev.QueueNext = e.QueueNext;
        if (e.QueueNext is null) _tail = e.QueuePrev;
        else e.QueueNext.QueuePrev = e.QueuePrev;
        e.QueuePrev = e.QueueNext = null; // a packet the VR keeps must not keep the queue alive
        e.Dequeued = true;
        _count--;
        if (_indexes is not { } ixs) return;
        if (_count == 0) _indexes = null; // a receiver that keeps up never pays for indexes
        else
            foreach (var ix in ixs) ix.NoteRemoved(e, this);
    }

    private Packet? Find(Matcher match)
    {
        if (_head is null) return null;
        if (match.Matches(_head)) return _head; // a receiver that keeps up: no index needed
        if (match.KeyName is { } key && (_count > IndexThreshold || _indexes is not null) && IndexFor(key) is { } index)
            return index.Find(match);
        for (var e = _head; e is not null; e = e.QueueNext)
            if (match.Matches(e)) return e;
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
        for (var e = _head; e is not null; e = e.QueueNext) created.Add(e);
        _indexes = [.. _indexes ?? [], created];
        return created;
    }

    /// <summary>Rebuilds one index from the live list (drops entries removed through other paths).</summary>
    private void Rebuild(AttributeIndex index)
    {
        index.Clear();
        for (var e = _head; e is not null; e = e.QueueNext) index.Add(e);
    }

    /// <summary>
    /// Value → arrival-ordered packets holding it. Removal elsewhere is lazy: dequeued ones are skipped
    /// and dropped from a bucket's front; when they outnumber the live ones the index is rebuilt,
    /// which keeps memory bounded and the cost amortized O(1) per packet.
    /// </summary>
    private sealed class AttributeIndex(string name)
    {
        private static readonly object NullKey = new();
        private readonly Dictionary<object, Queue<Packet>> _buckets = [];
        private int _live, _dead;
        private Packet? _found;          // the packet Find returned last, and its bucket:
        private Queue<Packet>? _foundIn; // its removal needs no second lookup
        private object? _hotKey;        // the value used last and its bucket: a stream of one tag
        private Queue<Packet>? _hotBucket; // skips hashing the value every time

        public string Name { get; } = name;

        public void Add(Packet e)
        {
            if (!e.TryGetValue(Name, out var value)) return;
            var key = value ?? NullKey;
            if (BucketOf(key) is not { } q)
            {
                // Empty buckets are kept for the next packet with that value, but not without bound.
                if (_buckets.Count > 2 * _live + 64)
                {
                    foreach (var (k, b) in _buckets)
                        if (b.Count == 0) _buckets.Remove(k);
                    _hotKey = _hotBucket = null;
                }
                _buckets[key] = q = new Queue<Packet>(4);
            }
            q.Enqueue(e);
            _live++;
        }

        private Queue<Packet>? BucketOf(object key)
        {
            if (_hotKey is not null && (ReferenceEquals(key, _hotKey) || key.Equals(_hotKey))) return _hotBucket;
            if (!_buckets.TryGetValue(key, out var q)) return null;
            (_hotKey, _hotBucket) = (key, q);
            return q;
        }

        public void NoteRemoved(Packet e, Mailbox owner)
        {
            Queue<Packet> q;
            if (ReferenceEquals(e, _found)) q = _foundIn!;
            else if (e.TryGetValue(Name, out var value)) q = BucketOf(value ?? NullKey)!;
            else return;
            _found = null;
            _live--;
            if (ReferenceEquals(q.Peek(), e))
            {
                q.Dequeue();
                while (q.TryPeek(out var head) && head.Dequeued)
                {
                    q.Dequeue();
                    _dead--;
                }
            }
            else if (++_dead > _live + 64) owner.Rebuild(this);
        }

        public Packet? Find(Matcher match)
        {
            if (BucketOf(match.KeyValue!) is not { } q) return null;
            foreach (var e in q)
            {
                if (e.Dequeued || !match.Matches(e)) continue;
                (_found, _foundIn) = (e, q);
                return e;
            }
            return null;
        }

        public void Clear()
        {
            _buckets.Clear();
            _live = _dead = 0;
            _found = null;
            _hotKey = _hotBucket = null;
        }
    }
}

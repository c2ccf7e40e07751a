using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace River;

/// <summary>
/// One mirrored VR as one VM sees it. On a VM with a replica it is that replica's half of the protocol: the
/// primary numbers every packet for the VR into an ordered log, sends the log to the mirrors and lets its own
/// replica have an entry only once every mirror holds it (so nothing the primary's replica did can be missing
/// from a mirror when the primary dies); a mirror applies the log as it comes. Calls whose result depends on
/// timing (<c>TryRecv</c>, <c>Peek</c>, a timed <c>Recv</c>, <c>Discover</c>) are decided by the primary and
/// recorded in the log; a mirror's replica takes the recorded outcome. When the primary's VM is gone, the first
/// live replica in the view's order gathers what the others hold beyond its own log, becomes primary and says
/// so to every VM; senders then send again what the old primary had not replicated. On other VMs only the view
/// is used: where to send.
/// </summary>
internal sealed class MirrorGroup
{
    /// <summary>Log entries every replica keeps from the start, so a new replica can be brought up to date by replay.</summary>
    public static int ReplayLimit { get; set; } = 100_000;

    private const int MaxEntriesPerMessage = 1024, MaxBytesPerMessage = 1 << 20;

    /// <summary>
    /// How long a primary gathers what became stable before telling the senders (<see cref="MirrorAck"/>): the acknowledgement
    /// only lets them drop their copies, so nothing waits for it, and one per log message cost a pool thread's wake-up each.
    /// </summary>
    private const int AckSendersAfterMs = 10;

    private readonly RiverVm _vm;
    private readonly Mirrors _mirrors;
    private readonly ILogger _logger;
    private readonly object _lock = new();
    private readonly HashSet<VmId> _gone = [];
    private int _goneCount; // _gone's size, read without the lock
    private readonly Coalescer _pushLog, _ackLog, _ackSenders;

    private VrContext? _local;
    private bool _ended, _stopped; // _stopped: the replica here was stopped (its VM stopping, or killed), not the VR ended
    private readonly List<Packet> _early = []; // applied before the replica here started

    // The log: entry g is _log[g - _logBase - 1]. Entries up to _stable are on every replica; a primary lets its
    // replica have an entry once it is stable (its held copy), a mirror applies each as it arrives.
    private readonly List<Entry> _log = [];
    private long _logBase, _applied, _stable;
    private bool _replayable = true;

    private readonly Dictionary<VrId, Sender> _senders = [];
    private Sender? _lastSender; // packets come in runs from one sender: most lookups end here
    private readonly List<Sender> _ackDue = [];
    private Follower[] _followers = []; // the view's mirrors in order, as the primary follows them (set with the view)
    private readonly Queue<MirrorEntry> _outcomes = [];
    private bool _takingOver;
    private long _published; // the epoch of the last view announced: no log of a newer one goes out before its view
    private HashSet<VmId> _tailsAwaited = [];
    private long _epoch;

    private sealed class Entry(ReadOnlyMemory<byte> wire, Sender? sender, long seq, Packet? held)
    {
        public readonly ReadOnlyMemory<byte> Wire = wire; // as it travels (LogWire)
        public readonly Sender? Sender = sender; // of a numbered packet
        public readonly long Seq = seq;
        public Packet? Held = held; // the primary's own copy, with its flow-control ledger, until it is stable
    }

    /// <summary>A mirror as the primary sees it: how far the log was sent to it, and how far it acknowledged holding it.</summary>
    private sealed class Follower(VmId vm)
    {
        public readonly VmId Vm = vm;
        public long SentTo, Acked;
    }

    /// <summary>
    /// One VR's numbered stream into the group: the last number logged and the last stable, the VMs its copies came from
    /// (each is acknowledged), and whether they are owed an acknowledgement. One object per sender, which each log entry
    /// points to, so a packet costs no lookups by id in several tables.
    /// </summary>
    private sealed class Sender(VrId id)
    {
        public readonly VrId Id = id;
        public long LastSeq, StableSeq;
        public readonly HashSet<VmId> Vms = [];
        public VmId LastVm; // the set is only touched when a copy comes from another VM than the last one
        public bool AckDue;
    }

    public MirrorGroup(RiverVm vm, Mirrors mirrors, ILogger logger, MirrorView view)
    {
        _vm = vm;
        _mirrors = mirrors;
        _logger = logger;
        View = view;
        _epoch = _published = view.Epoch;
        _pushLog = new Coalescer(PushLog, Failed);
        _ackLog = new Coalescer(AckLog, Failed);
        _ackSenders = new Coalescer(AckSenders, Failed, AckSendersAfterMs);
    }

    public VrId Id => View.Vr;

    /// <summary>The current view: the VMs of the live replicas, the primary first.</summary>
    public MirrorView View
    {
        get => _view;
        [MemberNotNull(nameof(_view))]
        private set
        {
            // Mirrors that stay keep how far the log went to them and how far they acknowledged it; one that joins starts from nothing.
            _followers = [.. value.Vms.Skip(1).Select(vm => FollowerOn(vm) ?? new Follower(vm))];
            _view = value;
        }
    }

    private MirrorView _view;

    /// <summary>The mirror on VM <paramref name="vm"/>, as the primary follows it, or null when it is not one of the view's.</summary>
    private Follower? FollowerOn(VmId vm)
    {
        foreach (var f in _followers)
            if (f.Vm == vm) return f;
        return null;
    }

    public VmId Primary => View.Vms[0];

    private VmId Me => _vm.Id;

    private bool IsPrimary => View.Vms[0] == Me && !_takingOver;

    private IEnumerable<VmId> Alive => View.Vms.Where(v => !_gone.Contains(v));

    /// <summary>True when <paramref name="id"/> was declared gone here.</summary>
    public bool IsGone(VmId id)
    {
        if (Volatile.Read(ref _goneCount) == 0) return false; // asked on every send to the VR: the usual answer takes no lock
        lock (_lock) return _gone.Contains(id);
    }

    /// <summary>The VMs of the view not declared gone here, in order of succession.</summary>
    public IReadOnlyList<VmId> Survivors()
    {
        lock (_lock) return [.. Alive];
    }

    private void Failed(Exception e) => _logger.MirrorFailed(Id, e);

    // ---- The replica on this VM ----

    public void Attach(VrContext local)
    {
        lock (_lock)
        {
            _local = local;
            local.Replica = this;
            foreach (var p in _early) Post(p);
            _early.Clear();
        }
    }

    public void Detach()
    {
        lock (_lock)
        {
            _stopped = _local is { Stopping.IsCancellationRequested: true };
            _local = null;
            _ended = true;
            Monitor.PulseAll(_lock);
        }
    }

    private void Post(Packet packet)
    {
        if (_local is { } local)
        {
            if (!local.Mailbox.Post(packet)) Mirrors.Discard(packet, local.Mailbox);
        }
        else if (!_ended) _early.Add(packet);
    }

    // ---- Packets for the VR ----

    /// <summary>A packet for the VR reached this VM's replica (from VM <paramref name="from"/>): the primary orders it, a mirror refuses it.</summary>
    public bool Deliver(VrContext local, Packet packet, VmId from)
    {
        bool primary, accepted = false, push = false;
        lock (_lock)
        {
            primary = IsPrimary;
            if (primary)
            {
                accepted = Accept(packet, from, null);
                push = TakePushDue();
            }
        }
        // An idle mirror gets the log from this thread (the link's reader, or a VR's thread reading on its own), not
        // from a pool thread woken for it: the entries that come meanwhile wait for its acknowledgement (OnLogAck).
        if (push) _pushLog.RequestHere();
        if (primary) return accepted;
        // Sent here before this VM's primary was known, or left over from an earlier primary: its sender keeps a
        // copy and sends it to the primary that announces itself. A sender that does not know the VR is mirrored learns it now.
        Mirrors.Discard(packet, local.Mailbox);
        if (packet.MirrorSeq == 0) _mirrors.Tell(from, View);
        return true;
    }

    /// <summary>A packet for the VR from a VR on this VM (its copy kept by its stream until acknowledged).</summary>
    public void AcceptLocal(Packet packet, byte[] frame)
    {
        lock (_lock)
        {
            if (!IsPrimary) return; // sent again when the new primary announces itself
            packet.QueueCost = FlowControl.LocalCost(packet);
            Accept(packet, Me, frame);
            PushDueLater();
        }
    }

    private bool Accept(Packet packet, VmId from, byte[]? frame)
    {
        // A stopped replica's VM still reads its links for a while: what comes now is neither logged nor acknowledged
        // (its sender keeps the packet for the next primary), unlike a packet for a VR that ended.
        if (_stopped) return false;
        var seq = packet.MirrorSeq;
        Sender? sender = null;
        if (seq != 0)
        {
            sender = SenderOf(packet.Src);
            if (from != sender.LastVm) sender.Vms.Add(sender.LastVm = from);
            if (seq <= sender.LastSeq)
            {
                // A copy sent again after a failover, or the same packet from another replica of a mirrored sender.
                if (_local is { } l) Mirrors.Discard(packet, l.Mailbox);
                if (seq <= sender.StableSeq)
                {
                    AckDue(sender);
                    _ackSenders.Request();
                }
                return true;
            }
            sender.LastSeq = seq;
        }
        if (_local is null)
        {
            // The VR ended: the packet is undeliverable, and its sender need not keep it for a failover.
            if (sender is not null)
            {
                sender.StableSeq = seq;
                AckDue(sender);
                _ackSenders.Request();
            }
            return false;
        }
        var wire = LogWire.Packet(frame ?? (packet.ArrivedFrame.IsEmpty ? Frames.Packet(_vm.Serializer, packet) : packet.ArrivedFrame.Span));
        packet.ArrivedFrame = default;
        Append(new Entry(wire, sender, seq, packet));
        packet.MirrorPosition = _applied;
        return true;
    }

    private Sender SenderOf(VrId src)
    {
        if (_lastSender is { } last && last.Id == src) return last;
        ref var sender = ref CollectionsMarshal.GetValueRefOrAddDefault(_senders, src, out _);
        return _lastSender = sender ??= new Sender(src);
    }

    /// <summary>The VMs <paramref name="sender"/>'s copies came from are to be told how far it is stable (by <see cref="AckSenders"/>).</summary>
    private void AckDue(Sender sender)
    {
        if (sender.AckDue) return;
        sender.AckDue = true;
        _ackDue.Add(sender);
    }

    /// <summary>
    /// Appends an entry as primary: it goes to the mirrors, and is stable at once when there are none. To a mirror that
    /// has a log message to acknowledge, it goes when that acknowledgement comes (<see cref="OnLogAck"/> pushes on the
    /// thread that reads it): entries gather meanwhile, and no pool thread has to wake for each batch. To an idle
    /// mirror it goes at once: <see cref="Deliver"/> pushes after its lock (<see cref="_pushDue"/>), others from the pool.
    /// </summary>
    private void Append(Entry entry)
    {
        _applied++;
        _log.Add(entry);
        if (View.Vms.Length == 1) Stabilize(_applied);
        else if (AnyMirrorIdle()) _pushDue = true;
    }

    private bool _pushDue; // an entry was appended while a mirror was idle: whoever appended pushes the log, or asks the pool

    /// <summary>True, and cleared, when an append wanted the log pushed (caller holds the lock).</summary>
    private bool TakePushDue()
    {
        var due = _pushDue;
        _pushDue = false;
        return due;
    }

    /// <summary>Asks the pool to push the log if an append wanted it (caller holds the lock, which a push must not be made under).</summary>
    private void PushDueLater()
    {
        if (TakePushDue()) _pushLog.Request();
    }

    /// <summary>True when a mirror has acknowledged all that was sent to it (so no acknowledgement will push the log to it).</summary>
    private bool AnyMirrorIdle()
    {
        foreach (var f in _followers)
            if (f.SentTo <= f.Acked) return true;
        return false;
    }

    private Entry EntryAt(long g) => _log[(int)(g - _logBase - 1)];

    /// <summary>Entries up to <paramref name="stable"/> are on every replica: the primary lets its replica have them and acknowledges their senders.</summary>
    private void Stabilize(long stable)
    {
        if (stable <= _stable) return;
        var primary = IsPrimary;
        for (var g = _stable + 1; g <= stable; g++)
        {
            var e = EntryAt(g);
            if (e.Sender is { } sender)
            {
                if (e.Seq > sender.StableSeq) sender.StableSeq = e.Seq;
                if (primary) AckDue(sender);
            }
            // Only entries the primary appended hold a copy: those a replica applied as a mirror, it has had already.
            if (primary && e.Held is { } held) Post(held);
            e.Held = null;
        }
        _stable = stable;
        TrimLog();
        Monitor.PulseAll(_lock);
        if (_ackDue.Count > 0) _ackSenders.Request();
    }

    private void TrimLog()
    {
        if (_replayable && _log.Count <= ReplayLimit) return;
        if (_replayable) _logger.MirrorLogTrimmed(Id, ReplayLimit);
        _replayable = false;
        var drop = (int)Math.Min(_stable - _logBase, _log.Count);
        if (drop <= 0) return;
        _log.RemoveRange(0, drop);
        _logBase += drop;
    }

    private void PushLog()
    {
        var sends = new List<(VmId To, MirrorLog Log)>();
        lock (_lock)
        {
            // A mirror drops a log of an epoch it has not seen: the view goes first, on the same links (see Announce).
            if (!IsPrimary || _published < View.Epoch) return;
            foreach (var m in _followers)
            {
                var first = m.SentTo + 1;
                if (first > _applied || first <= _logBase) continue;
                var entries = EntriesFrom(first, bounded: true);
                m.SentTo = first + entries.Count - 1;
                sends.Add((m.Vm, new MirrorLog(Id, View.Epoch, first, LogWire.Join(entries), _stable)));
                if (m.SentTo < _applied) _pushLog.Request();
            }
        }
        foreach (var (to, log) in sends) _mirrors.Tell(to, log);
    }

    /// <summary>The log's entries from <paramref name="first"/> on: all, or (<paramref name="bounded"/>) up to a message's worth.</summary>
    private List<ReadOnlyMemory<byte>> EntriesFrom(long first, bool bounded)
    {
        var entries = new List<ReadOnlyMemory<byte>>();
        for (var (g, bytes) = (first, 0L); g <= _applied; g++)
        {
            var wire = EntryAt(g).Wire;
            bytes += wire.Length;
            if (bounded && entries.Count > 0 && (entries.Count == MaxEntriesPerMessage || bytes > MaxBytesPerMessage)) break;
            entries.Add(wire);
        }
        return entries;
    }

    /// <summary>Log entries from the primary (this VM is a mirror).</summary>
    public void OnLog(VmId from, MirrorLog log)
    {
        lock (_lock)
        {
            if (log.Epoch != View.Epoch || log.Epoch < _epoch || from != Primary || IsPrimary) return; // from an earlier primary
            // Acknowledged before it is applied, so the primary's wait for stability leaves out this replica's reading of
            // each packet (most of a mirror's part of it). The acknowledgement is only queued here (a link's reader never
            // waits to send, nor does a VM of the same process), and the entries are applied under the same lock: no
            // takeover sees them acknowledged and not in the log.
            if (AckUpTo(HeldAfter(log.First, log.Entries)) is { } ack) _mirrors.Tell(from, ack);
            ApplyFrom(log.First, log.Entries);
            Stabilize(Math.Min(log.Stable, _applied));
        }
    }

    /// <summary>How far this replica's log reaches once <see cref="ApplyFrom"/> has taken <paramref name="entries"/>, the first at <paramref name="first"/>.</summary>
    private long HeldAfter(long first, byte[] entries) =>
        first > _applied + 1 ? _applied : Math.Max(_applied, first + LogWire.Count(entries) - 1); // after a gap none is applied

    /// <summary>Applies the entries, the first at log position <paramref name="first"/>, that come right after this replica's log (others it has, or a gap).</summary>
    private void ApplyFrom(long first, byte[] entries)
    {
        for (var pos = 0; LogWire.Next(entries, ref pos, out var entry);)
            if (first++ == _applied + 1) Apply(entry);
    }

    /// <summary>A mirror's step: the entry joins the log and the replica here has it at once.</summary>
    private void Apply(ReadOnlyMemory<byte> entry)
    {
        _applied++;
        if (LogWire.IsPacket(entry, out var body))
        {
            var packet = _vm.ReadPacket(body);
            packet.ArrivedFrame = default;
            packet.MirrorPosition = _applied;
            Sender? sender = null;
            if (packet.MirrorSeq != 0)
            {
                sender = SenderOf(packet.Src);
                if (packet.MirrorSeq > sender.LastSeq) sender.LastSeq = packet.MirrorSeq;
            }
            _log.Add(new Entry(entry, sender, packet.MirrorSeq, null));
            Post(packet);
        }
        else
        {
            var outcome = _vm.Serializer.ReadValue(body) as MirrorEntry
                ?? throw new MessagePack.MessagePackSerializationException("a mirror log entry that is neither a packet nor an outcome");
            _log.Add(new Entry(entry, null, 0, null));
            _outcomes.Enqueue(outcome);
            Monitor.PulseAll(_lock);
        }
    }

    private void AckLog()
    {
        MirrorLogAck? ack;
        VmId to;
        lock (_lock) (to, ack) = (Primary, AckUpTo(_applied));
        if (ack is not null) _mirrors.Tell(to, ack);
    }

    /// <summary>
    /// A mirror's acknowledgement that its log reaches <paramref name="upto"/>, or null when it gives none (caller holds the
    /// lock). A mirror whose replica returned still acknowledges: the entry that ended it (say "stop") is given to the
    /// primary's replica only once stable, and an ack skipped because the replica here ended first left the primary's
    /// waiting for ever. A stopped replica's (its VM stopping, or killed) does not: the group goes on without it.
    /// </summary>
    private MirrorLogAck? AckUpTo(long upto) => IsPrimary || _stopped ? null : new MirrorLogAck(Id, View.Epoch, upto);

    /// <summary>A mirror holds the log up to <see cref="MirrorLogAck.Upto"/> (this VM is the primary).</summary>
    public void OnLogAck(VmId from, MirrorLogAck ack)
    {
        lock (_lock)
        {
            if (!IsPrimary || ack.Epoch != View.Epoch || FollowerOn(from) is not { } follower) return;
            follower.Acked = Math.Max(follower.Acked, Math.Min(ack.Upto, _applied));
            Stabilize(MinAcked());
            if (follower.SentTo >= _applied) return;
        }
        _pushLog.RequestHere();
    }

    private long MinAcked()
    {
        var min = _applied;
        foreach (var f in _followers) min = Math.Min(min, f.Acked);
        return min;
    }

    private void AckSenders()
    {
        var byVm = new Dictionary<VmId, List<(VrId Src, long Seq)>>();
        lock (_lock)
        {
            foreach (var sender in _ackDue)
            {
                sender.AckDue = false;
                foreach (var vm in sender.Vms) (byVm.TryGetValue(vm, out var list) ? list : byVm[vm] = []).Add((sender.Id, sender.StableSeq));
            }
            _ackDue.Clear();
        }
        foreach (var (vm, acks) in byVm)
        {
            var ack = new MirrorAck(Id, [.. acks.Select(a => a.Src)], [.. acks.Select(a => a.Seq)]);
            if (vm == Me) _mirrors.OnAck(ack);
            else _mirrors.Tell(vm, ack);
        }
    }

    // ---- Calls whose outcome depends on timing ----

    /// <summary><c>TryRecv</c> (<paramref name="take"/>) or <c>Peek</c> of the replica here: decided by the primary, replayed by mirrors.</summary>
    public Packet? Decide(Mailbox box, bool take, Func<Packet?> live)
    {
        if (Recorded() is { } recorded)
        {
            if (recorded.Found is not null) throw Diverged("a receive", "Discover");
            if (recorded.Taken == 0) return null;
            var at = Matcher.From(p => p.MirrorPosition == recorded.Taken);
            var packet = take ? (box.TryTake(at, out var t) ? t : null) : box.Peek(at);
            return packet ?? throw Diverged("a receive of log entry " + recorded.Taken, "a packet it no longer has");
        }
        var result = live();
        Record(new MirrorEntry(result?.MirrorPosition ?? 0));
        return result;
    }

    /// <summary><c>Discover</c> of the replica here: what the primary found.</summary>
    public IReadOnlyList<VmInfo> Discover(Func<IReadOnlyList<VmInfo>> live)
    {
        if (Recorded() is { } recorded) return recorded.Found ?? throw Diverged("Discover", "a receive");
        var found = live();
        Record(new MirrorEntry(0, [.. found]));
        return found;
    }

    private static InvalidOperationException Diverged(string here, string primary) => new(
        $"A mirrored VR's replica made {here} where the primary's made {primary}: its Main is not deterministic given the packets it receives.");

    /// <summary>The next recorded outcome for a mirror's replica (waiting for it), or null when this replica decides (it is the primary).</summary>
    private MirrorEntry? Recorded()
    {
        lock (_lock)
        {
            while (true)
            {
                if (_outcomes.TryDequeue(out var outcome)) return outcome;
                if (IsPrimary) return null;
                WaitHere();
            }
        }
    }

    /// <summary>The primary records an outcome and returns once every mirror holds it.</summary>
    private void Record(MirrorEntry outcome)
    {
        lock (_lock)
        {
            Append(new Entry(LogWire.Outcome(_vm.Serializer, outcome), null, 0, null));
            PushDueLater();
            var g = _applied;
            while (_stable < g) WaitHere();
        }
    }

    private void WaitHere()
    {
        if (_ended || _local is { Killed: true } || _local is { Stopping.IsCancellationRequested: true }) throw new OperationCanceledException("The VR's replica was ended (its VM is stopping, or the group went on without it).");
        Monitor.Wait(_lock, 200);
    }

    // ---- A replacement replica ----

    /// <summary>
    /// The primary takes VM <paramref name="vm"/> into the view as a mirror that holds nothing yet: the whole log goes to
    /// it (its replica replays it from the start; what it sends again is dropped as duplicates), and entries are stable
    /// once it has them too. Returns the view to <see cref="Announce"/>, or throws when the log was trimmed or the VM cannot take it.
    /// </summary>
    public MirrorView AddMirror(VmId vm)
    {
        lock (_lock)
        {
            if (!IsPrimary) throw new InvalidOperationException($"VM {Me} is not the primary of mirrored VR {Id} (any more)");
            if (!_replayable)
                throw new InvalidOperationException($"mirrored VR {Id} has logged more than {ReplayLimit} entries (MirrorGroup.ReplayLimit): a new replica can no longer be brought up to date by replay");
            if (View.Vms.Contains(vm) || _gone.Contains(vm)) throw new InvalidOperationException($"VM {vm} already runs a replica of {Id}, or is gone");
            View = new MirrorView(Id, [.. View.Vms, vm], _epoch = Math.Max(_epoch, View.Epoch) + 1);
            return View;
        }
    }

    /// <summary>
    /// The primary publishes its new <paramref name="view"/> (outside the lock: a link may block), and only then sends the
    /// log under it: a log sent first, from the pool, could reach a mirror before the view, be dropped there, and never be
    /// sent again, so nothing would become stable (a new replica's VM would not even know the group yet).
    /// </summary>
    public void Announce(MirrorView view)
    {
        _mirrors.Publish(view);
        lock (_lock) _published = Math.Max(_published, view.Epoch);
        _pushLog.Request();
    }

    /// <summary>The primary's replica here (the template for a new replica's type and arguments).</summary>
    public VrContext? Local => _local;

    // ---- Views and failover ----

    /// <summary>Takes <paramref name="view"/> if it is newer; true when the primary changed (senders then send their unacknowledged copies again).</summary>
    public bool Adopt(MirrorView view, out bool dropReplica)
    {
        lock (_lock)
        {
            dropReplica = false;
            if (view.Epoch <= View.Epoch) return false;
            var primaryChanged = view.Vms[0] != View.Vms[0];
            View = view;
            _epoch = Math.Max(_epoch, view.Epoch);
            _takingOver = false;
            dropReplica = _local is not null && !view.Vms.Contains(Me);
            Monitor.PulseAll(_lock);
            if (!IsPrimary && _local is not null) _ackLog.Request();
            return primaryChanged;
        }
    }

    /// <summary>VM <paramref name="id"/> is gone: a lost mirror leaves the view; a lost primary is replaced by the first live replica.</summary>
    public void OnVmGone(VmId id)
    {
        var after = new List<Action>();
        lock (_lock)
        {
            if (!View.Vms.Contains(id) || !_gone.Add(id)) return;
            Volatile.Write(ref _goneCount, _gone.Count);
            if (!View.Vms.Contains(Me)) return; // elsewhere the new primary's view is awaited
            if (_takingOver)
            {
                if (_tailsAwaited.Remove(id) && _tailsAwaited.Count == 0) CompleteTakeover(after);
            }
            else if (IsPrimary)
            {
                View = new MirrorView(Id, [.. Alive], ++_epoch);
                var view = View;
                after.Add(() => Announce(view));
                Stabilize(MinAcked());
            }
            else if (Alive.FirstOrDefault() == Me) BeginTakeover(after);
        }
        foreach (var a in after) a();
    }

    private void BeginTakeover(List<Action> after)
    {
        _takingOver = true;
        _epoch = Math.Max(_epoch, View.Epoch) + 1;
        _tailsAwaited = [.. Alive.Where(v => v != Me)];
        _logger.MirrorTakingOver(Id, Primary, _tailsAwaited.Count);
        if (_tailsAwaited.Count == 0)
        {
            CompleteTakeover(after);
            return;
        }
        var request = new MirrorTailRequest(Id, _epoch, _applied);
        foreach (var v in _tailsAwaited) after.Add(() => _mirrors.Tell(v, request));
    }

    /// <summary>The replica taking over asks what this one holds beyond its log; entries from the old primary are refused from now on.</summary>
    public void OnTailRequest(VmId from, MirrorTailRequest request)
    {
        MirrorTail tail;
        lock (_lock)
        {
            _epoch = Math.Max(_epoch, request.Epoch);
            var first = Math.Max(request.After + 1, _logBase + 1);
            tail = new MirrorTail(Id, request.Epoch, first, LogWire.Join(EntriesFrom(first, bounded: false)));
        }
        _mirrors.Tell(from, tail);
    }

    public void OnTail(VmId from, MirrorTail tail)
    {
        var after = new List<Action>();
        lock (_lock)
        {
            if (!_takingOver || tail.Epoch != _epoch || !_tailsAwaited.Remove(from)) return;
            ApplyFrom(tail.First, tail.Entries);
            if (_tailsAwaited.Count == 0) CompleteTakeover(after);
        }
        foreach (var a in after) a();
    }

    private void CompleteTakeover(List<Action> after)
    {
        _takingOver = false;
        View = new MirrorView(Id, [.. Alive], _epoch);
        foreach (var f in _followers) f.SentTo = f.Acked = _stable;
        Stabilize(MinAcked());
        Monitor.PulseAll(_lock);
        _logger.MirrorTookOver(Id, _applied);
        RiverMetrics.Failover(Me);
        var view = View;
        after.Add(() =>
        {
            Announce(view);
            _mirrors.SendHeld(Id);
            _mirrors.Resend(Id);
        });
    }
}

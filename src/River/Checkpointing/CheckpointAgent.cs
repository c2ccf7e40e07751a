using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using MessagePack;
using Microsoft.Extensions.Logging;

namespace River;

/// <summary>
/// A VM's side of coordinated checkpointing: for the VRs here of every run that checkpoints, it numbers
/// the packets each VR sends to each other VR (<see cref="Packet.CheckpointSeq"/>, carried in the frame's
/// header), keeps what each sent until a complete round shows its receiver holds it (by reference when its
/// values cannot change), queues arrivals in sequence (dropping duplicates, holding any that come early),
/// takes a VR's part when it calls <c>Checkpoint()</c> (serialized once, into the buffer that becomes its
/// file) and, off the VR's thread, writes it to the run's store itself when this VM sees the home VM's
/// directory (telling the home it is stored) or sends it to the home VM to write, and carries out
/// the home VM's recovery steps. Runs that do not checkpoint never reach it: the hooks are set once such a
/// run reached this VM, and stay (a run's end is not told to the other VMs).
/// </summary>
internal sealed class CheckpointAgent : IRuntimeHooks
{
    private static readonly TimeSpan RecoveryWait = TimeSpan.FromSeconds(60);

    /// <summary>A file the home VM writes in the run's store, holding a token: a VM that reads it back there shares the directory.</summary>
    private const string StoreMark = "river-store";

    private readonly RiverVm _vm;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<Guid, RunInfo> _runs = new();
    private readonly ConcurrentDictionary<VrContext, VrState> _vrs = new();
    private readonly ConcurrentDictionary<VrId, Prepared> _prepared = new();
    private readonly ConcurrentDictionary<VrId, TaskCompletionSource> _holding = new(); // restarted VRs waiting for Resume
    private readonly ConcurrentDictionary<long, TaskCompletionSource> _asked = new();
    private readonly ConcurrentDictionary<Task, byte> _storing = new(); // parts on their way to the store, of every VR
    private readonly Lazy<Task> _warm;
    private long _nextRequest;

    public CheckpointAgent(RiverVm vm, ILogger logger)
    {
        _vm = vm;
        _logger = logger;
        _warm = new(() => Task.Run(Warm));
        vm.VrEnded += (_, e) => OnEnded(e);
    }

    /// <summary>A run whose VRs this VM numbers; at its home VM, with the coordinator.</summary>
    internal sealed class RunInfo(Guid id, VmId home, VrId initiator)
    {
        public Guid Id { get; } = id;
        public VmId Home { get; } = home;
        public VrId Initiator { get; } = initiator;
        public CheckpointCoordinator? Coordinator { get; set; }

        /// <summary>The run's store, where this VM writes its VRs' parts itself; null: they go to the home VM, which writes them.</summary>
        public ICheckpointStore? Store { get; set; }

        // Set from a VM's loss until the home VM's Resume: sends of VRs not rolled back wait, as their receivers are being moved.
        public volatile bool Recovering;
        public readonly ManualResetEventSlim Resumed = new(true);

        // Bumped by every recovery: parts taken before it are stale. The VMs whose loss was recovered from.
        public volatile int Epoch;

        /// <summary>A restarted run's deploys, by parent and call: an initiator that runs again from the top gets its VRs back.</summary>
        public Dictionary<(VrId Parent, int Call), VrId[]> Redeploys { get; set; } = [];

        /// <summary>Completes when the initiator ends for good (not when it is rolled back): the program's end.</summary>
        public readonly TaskCompletionSource Finished = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private readonly ConcurrentDictionary<VmId, TaskCompletionSource> _recoveries = new();

        /// <summary>The recovery from VM <paramref name="vm"/>'s loss: completes at the home VM's <see cref="River.Resume"/> for it.</summary>
        public Task Recovery(VmId vm) => RecoveryOf(vm).Task;

        public void Recovered(VmId vm) => RecoveryOf(vm).TrySetResult();

        private TaskCompletionSource RecoveryOf(VmId vm) => _recoveries.GetOrAdd(vm, static _ => new(TaskCreationOptions.RunContinuationsAsynchronously));
    }

    /// <summary>One VR's numbering: packets sent to and queued from each other VR, what it sent, packets come early.</summary>
    private sealed class VrState(VrContext context, RunInfo run)
    {
        public readonly VrContext Context = context;
        public readonly RunInfo Run = run;
        public readonly Lock Lock = new();
        public readonly Dictionary<VrId, long> Sent = [], Received = [];
        public readonly Dictionary<VrId, SortedList<long, Packet>> Early = [];
        public List<LogEntry> Log = [];
        public Task Sending = Task.CompletedTask; // the VR's parts on their way home, in order
        public FileBuffer? Spare; // the buffer of the VR's last part, written: its next part's
        public int Checkpoints;
        public bool RolledBack;
        public int Deploys;
    }

    /// <summary>
    /// A packet a VR sent, kept until a complete round shows its receiver holds it. One whose values cannot change is
    /// kept by reference and serialized only when a part or a replay needs it (most are pruned first, or written once
    /// with the part); any other is copied as a frame when sent, as the sender may change its values later.
    /// </summary>
    private sealed class LogEntry(VrId dest, long seq, Packet? packet, byte[]? frame)
    {
        private byte[]? _frame = frame;

        public VrId Dest => dest;

        public long Seq => seq;

        // Any thread may ask; two that race write the same bytes.
        public byte[] Frame(RiverSerializer serializer) => _frame ??= Frames.Packet(serializer, packet!).ToArray();

        public LoggedPacket ToLogged(RiverSerializer serializer) => new(dest, seq, Frame(serializer));

        public static LogEntry Of(RiverSerializer serializer, Packet packet)
        {
            foreach (var value in packet.AttributeValues)
                if (!RiverSerializer.IsImmutable(value)) return new(packet.Dest, packet.CheckpointSeq, null, Frames.Packet(serializer, packet).ToArray());
            return new(packet.Dest, packet.CheckpointSeq, packet, null);
        }
    }

    private sealed record Prepared(VrPart? Part, ReadOnlyMemory<byte> Fields, TaskCompletionSource Go);

    // ---- program side -------------------------------------------------------------------------------

    /// <summary>Makes <paramref name="run"/> checkpointed on every VM (they number its packets from now on), before its initiator starts.</summary>
    public RunInfo BeginRun(Guid run, VrId initiator, ICheckpointStore store, int restoredRound = 0)
    {
        var info = Register(run, _vm.Id, initiator);
        info.Coordinator = new CheckpointCoordinator(_vm, this, info, store, _logger, restoredRound);
        info.Store = store;
        var token = Guid.NewGuid();
        store.WriteAsync(StoreMark, token.ToByteArray()).Wait();
        AskAll(id => new RunCheckpointed(run, _vm.Id, initiator, store.Location, token, id)).Wait(RecoveryWait);
        return info;
    }

    /// <summary>
    /// Has MessagePack generate the checkpoint types' formatters, and runs a part and a manifest through them once, before a run's VRs
    /// start (every VM warms before it answers <see cref="RunCheckpointed"/>): left to a VR's first <c>Checkpoint()</c>,
    /// that took about 100 ms of its thread in a fresh process, and in a lockstep program every VR waited for it.
    /// </summary>
    private void Warm()
    {
        foreach (var type in CheckpointWire.Types) _vm.Serializer.Options.Resolver.GetFormatterDynamic(type);
        var id = VrId.New();
        var counts = new[] { new SeqCount(id, 1) };
        var vr = new VrIdentity(id, nameof(Warm), id, [], []);
        _vm.Serializer.Copy(nameof(VrPart), new VrPart(Guid.Empty, vr, 1, false, 0, [], [[]], counts, counts, [new LoggedPacket(id, 1, [])]));
        _vm.Serializer.Copy(nameof(PartStored), new PartStored(Guid.Empty, 0, vr, 1, false, counts, 0, 0));
        // The home VM's first manifest: generated there on the run's first round otherwise, in its last part's wait.
        _vm.Serializer.Copy(nameof(RoundManifest), new RoundManifest(Guid.Empty, 1, 0, id, nameof(Warm), [id], [], 0, [new DeployRecord(id, 1, [id])]));
    }

    private RunInfo Register(Guid run, VmId home, VrId initiator)
    {
        var info = _runs.GetOrAdd(run, _ => new RunInfo(run, home, initiator));
        _vm.Hooks = this;
        return info;
    }

    /// <summary>The home VM's store, if this VM sees the same directory (the same host, or a shared file system); else null.</summary>
    private static async Task<ICheckpointStore?> ReachableAsync(string location, Guid token)
    {
        try
        {
            var store = new DirectoryCheckpointStore(location);
            return await store.ReadAsync(StoreMark) is { Length: 16 } mark && new Guid(mark) == token ? store : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>
    /// A VR's <c>Checkpoint()</c>: its part, taken on its own thread, is stored. The VR goes on once its state is
    /// serialized; sealing and storing the file happen on the thread pool.
    /// </summary>
    public void Checkpoint(VrContext vr)
    {
        if (!_vrs.TryGetValue(vr, out var state)) return; // no --checkpoint-dir: nothing to save
        if (vr.Killed) throw new OperationCanceledException("This VR is being rolled back to a checkpoint.");
        var time = DateTime.UtcNow.Ticks; // before the fields are captured: a round's time counts capturing them
        VrPart part;
        LogEntry[] log;
        lock (state.Lock)
        {
            // Under the lock deliveries take, so the queue and the counts of what was queued agree.
            var queue = vr.Mailbox.Snapshot().Select(p => Frames.Packet(_vm.Serializer, p).ToArray()).ToArray();
            log = [.. state.Log];
            part = new VrPart(state.Run.Id, IdentityOf(vr), ++state.Checkpoints, false, time, VrFields.NamesOf(vr.Instance.GetType()), queue,
                Counts(state.Received), Counts(state.Sent), []);
        }
        // The logged packets are serialized outside the lock: deliveries to this VR need not wait for them.
        part = part with { Log = Logged(log) };
        // Only this thread changes the fields, so capturing them after the lock is capturing them with the queue.
        try
        {
            SendPart(state, part, vr.Instance);
        }
        catch
        {
            // A field that cannot be saved: no part of this number, so the VR's next one still fills its next round.
            lock (state.Lock) state.Checkpoints--;
            throw;
        }
    }

    /// <summary>
    /// Writes <paramref name="part"/>, then the fields of <paramref name="fields"/> (none for an ended VR), into the buffer
    /// that becomes the part's file, and stores it on the thread pool after the VR's earlier parts (<see cref="StoreAsync"/>).
    /// </summary>
    private void SendPart(VrState state, VrPart part, VirtualResourceBase? fields)
    {
        var size = (fields is null ? 0 : VrFields.SizeOf(fields)) + part.Queue.Sum(q => q.Length + 8L) + part.Log.Sum(l => l.Frame.Length + 64L) + 1024;
        var file = CheckpointFile.Writer(size, Interlocked.Exchange(ref state.Spare, null));
        _vm.Serializer.WriteValue(file, nameof(VrPart), part);
        if (fields is not null) VrFields.Capture(_vm.Serializer, fields, file);
        var epoch = state.Run.Epoch;
        Task sending;
        lock (state.Lock) sending = state.Sending = state.Sending.ContinueWith(_ => StoreAsync(state, epoch, part, file), TaskScheduler.Default).Unwrap();
        _storing.TryAdd(sending, 0);
        _ = sending.ContinueWith(t => _storing.TryRemove(t, out _), TaskScheduler.Default);
    }

    /// <summary>
    /// Completes once the parts this VM has been given so far are stored (or sent home). A VM that stops waits for it, so it
    /// leaves no part half-written behind (an ended VR's part is stored after the run's result is out).
    /// </summary>
    public Task StoredAsync() => Task.WhenAll(_storing.Keys);

    /// <summary>
    /// Seals a part's file and writes it to the store, then tells the home VM it is durable (the buffer is the VR's next
    /// part's); or, when this VM does not see the store, sends the file to the home VM, which writes it.
    /// </summary>
    private async Task StoreAsync(VrState state, int epoch, VrPart part, FileBuffer writer)
    {
        var (run, vr) = (state.Run, state.Context.Id);
        try
        {
            var file = CheckpointFile.Seal(writer);
            if (run.Store is { } store)
            {
                await store.WriteAsync(CheckpointCoordinator.PartName(vr, part.Number, part.Ended), file);
                ToHome(run, new PartStored(run.Id, epoch, part.Vr, part.Number, part.Ended, part.Received, file.Length, part.Time));
                state.Spare = writer;
            }
            else ToHome(run, new PartTaken(run.Id, epoch, vr, part.Number, file));
        }
        catch (Exception e)
        {
            _logger.CheckpointStepFailed(nameof(StoreAsync), e);
        }
    }

    private LoggedPacket[] Logged(LogEntry[] log) => Array.ConvertAll(log, e => e.ToLogged(_vm.Serializer));

    private static SeqCount[] Counts(Dictionary<VrId, long> counts) => [.. counts.Select(c => new SeqCount(c.Key, c.Value))];

    private VrIdentity IdentityOf(VrContext vr) =>
        new(vr.Id, vr.Instance.GetType().AssemblyQualifiedName!, vr.Parent, [.. vr.Args], _vm.Deployer.ArgBytes(vr.DeployArgs));

    /// <summary>
    /// A <c>Deploy</c> by a VR of a checkpointed run: in a run restarted from disk, the VRs the same call started
    /// the first time (restarted already) instead of new ones; null to deploy as usual.
    /// </summary>
    public IReadOnlyList<VrId>? Redeploy(VrContext caller, int count)
    {
        if (!_vrs.TryGetValue(caller, out var state)) return null;
        var call = Interlocked.Increment(ref state.Deploys);
        return state.Run.Redeploys.TryGetValue((caller.Id, call), out var ids) && ids.Length == count ? ids : null;
    }

    /// <summary>Tells the home VM which VRs a deploy started, in order.</summary>
    public void Deployed(VrContext caller, IReadOnlyList<VrId> ids)
    {
        if (_vrs.TryGetValue(caller, out var state)) ToHome(state.Run, new Deployed(state.Run.Id, new DeployRecord(caller.Id, state.Deploys, [.. ids])));
    }

    // ---- hooks -----------------------------------------------------------------------------------------

    public Packet Sending(Packet packet)
    {
        if (!_vm.TryGetLocal(packet.Src, out var vr) || !_vrs.TryGetValue(vr, out var state)) return packet;
        if (vr.Killed) throw new OperationCanceledException("This VR is being rolled back to a checkpoint.");
        // A VR that goes on waits while its receivers may be moving; one being rolled back is released by its kill.
        if (state.Run.Recovering) state.Run.Resumed.Wait(RecoveryWait, vr.Stopping);
        // The packet is the runtime's own, just made from the VR's attributes: numbering it copies nothing.
        lock (state.Lock)
        {
            packet.CheckpointSeq = ++CollectionsMarshal.GetValueRefOrAddDefault(state.Sent, packet.Dest, out _);
            state.Log.Add(LogEntry.Of(_vm.Serializer, packet));
            return packet;
        }
    }

    /// <summary>
    /// A VR of a run sent to one whose VM is gone, before its next send would have waited for the recovery: the packet
    /// is in its log, and the recovery from that loss replays it to wherever its receiver starts again. So the send waits
    /// for that recovery, as the next one would, and returns, unless the receiver is not started again (not of the run).
    /// </summary>
    public bool Keeps(Packet packet, VmId gone)
    {
        if (packet.CheckpointSeq == 0 || !_vm.TryGetLocal(packet.Src, out var vr) || !_vrs.TryGetValue(vr, out var state) || state.Run.Home == gone)
            return false;
        if (!state.Run.Recovery(gone).Wait(RecoveryWait, vr.Stopping)) return false;
        return _vm.TryGetLocal(packet.Dest, out _) || _vm.Router.LocationOf(packet.Dest) is not null;
    }

    public bool Post(VrContext to, Packet packet)
    {
        var seq = packet.CheckpointSeq;
        if (seq == 0 || !_vrs.TryGetValue(to, out var state)) return to.Mailbox.Post(packet);
        lock (state.Lock)
        {
            var last = state.Received.GetValueOrDefault(packet.Src);
            if (seq <= last)
            {
                // Sent again after a rollback, and already held here: the sender's credit comes back, the packet goes.
                if (packet.Ledger is { } ledger) ledger.Taken(packet.QueueCost, to.Mailbox);
                return true;
            }
            if (seq > last + 1)
            {
                if (!state.Early.TryGetValue(packet.Src, out var early)) state.Early[packet.Src] = early = [];
                early.TryAdd(seq, packet);
                return true;
            }
            if (!to.Mailbox.Post(packet)) return false;
            last = seq;
            if (state.Early.TryGetValue(packet.Src, out var waiting))
            {
                while (waiting.Remove(last + 1, out var next) && to.Mailbox.Post(next)) last++;
                if (waiting.Count == 0) state.Early.Remove(packet.Src);
            }
            state.Received[packet.Src] = last;
            return true;
        }
    }

    public Task? Starting(VrContext vr)
    {
        if (!_runs.TryGetValue(vr.Run.Id, out var run)) return null;
        var state = new VrState(vr, run);
        if (!_prepared.TryRemove(vr.Id, out var prepared))
        {
            _vrs[vr] = state;
            ToHome(run, new VrJoined(run.Id, IdentityOf(vr), _vm.Id));
            return null;
        }
        if (prepared.Part is { } part) Apply(vr, state, part, prepared.Fields);
        _vrs[vr] = state;
        _holding[vr.Id] = prepared.Go;
        return prepared.Go.Task;
    }

    /// <summary>Sets a restarted VR's fields, counts, log and queue from its part.</summary>
    private void Apply(VrContext vr, VrState state, VrPart part, ReadOnlyMemory<byte> fields)
    {
        using (TypeResolver.Enter(vr.Run.Code)) VrFields.Restore(_vm.Serializer, vr.Instance, part.FieldNames, fields);
        vr.Restored = true;
        state.Checkpoints = part.Number;
        foreach (var c in part.Received) state.Received[c.Peer] = c.Seq;
        foreach (var c in part.Sent) state.Sent[c.Peer] = c.Seq;
        state.Log = [.. part.Log.Select(l => new LogEntry(l.Dest, l.Seq, null, l.Frame))];
        foreach (var frame in part.Queue)
        {
            var p = Frames.ReadPacket(_vm.Serializer, frame, _ => vr.Run.Code);
            if (vr.Mailbox.Bounded) p.QueueCost = FlowControl.LocalCost(p);
            vr.Mailbox.Post(p);
        }
    }

    private void OnEnded(VrLifecycleEventArgs e)
    {
        var entry = _vrs.FirstOrDefault(v => v.Key.Id == e.Id); // a restarted VR of this id starts only after this one ended
        if (entry.Value is not { } state || !_vrs.TryRemove(entry) || state.RolledBack) return;
        if (e.Id == state.Run.Initiator)
        {
            if (e.Error is null || state.Context.Killed) state.Run.Finished.TrySetResult();
            else state.Run.Finished.TrySetException(e.Error);
        }
        if (e.Error is not null || state.Checkpoints == 0 || state.Context.Killed) return;
        // Returned after checkpointing: what it sent since may still be owed to VRs rolled back later.
        VrPart part;
        LogEntry[] log;
        lock (state.Lock)
        {
            log = [.. state.Log];
            part = new VrPart(state.Run.Id, IdentityOf(state.Context), state.Checkpoints + 1, true, DateTime.UtcNow.Ticks, [], [], [], Counts(state.Sent), []);
        }
        SendPart(state, part with { Log = Logged(log) }, null);
    }

    // ---- control messages ---------------------------------------------------------------------------

    public void OnControl(IPeer from, ICheckpointMessage message) =>
        _ = HandleAsync(message).ContinueWith(t =>
        {
            if (t.IsFaulted) _logger.CheckpointStepFailed(message.GetType().Name, t.Exception!.InnerException!);
            else if (RequestOf(message) is { } request) from.Send(Frames.Control(_vm.Serializer, new CheckpointAck(request)));
        }, TaskScheduler.Default);

    private static long? RequestOf(ICheckpointMessage m) => m switch
    {
        RunCheckpointed r => r.Request,
        RollBack r => r.Request,
        Prepare p => p.Request,
        Resume r => r.Request,
        RunEnding r => r.Request,
        _ => null,
    };

    private Task HandleAsync(ICheckpointMessage message)
    {
        switch (message)
        {
            case RunCheckpointed r:
                return RegisterAsync(r);
            case CheckpointAck a:
                if (_asked.TryRemove(a.Request, out var asked)) asked.TrySetResult();
                break;
            case VrJoined or PartTaken or PartStored or River.Deployed when CoordinatorOf(message) is { } coordinator:
                coordinator.OnMessage(message);
                break;
            case RoundDone d:
                Prune(d);
                break;
            case RollBack r:
                return RollBackAsync(r);
            case Prepare p:
                var (part, fields) = p.Part is null ? (null, default) : PartPayload.Read(_vm.Serializer, p.Part, $"the part of VR {p.Vr}");
                _prepared[p.Vr] = new Prepared(part, fields, new(TaskCreationOptions.RunContinuationsAsynchronously));
                break;
            case Replay r:
                foreach (var frame in r.Frames) Requeue(frame);
                break;
            case Resume r:
                OnResume(r);
                break;
            case RunEnding:
                return StoredAsync();
        }
        return Task.CompletedTask;
    }

    private async Task RegisterAsync(RunCheckpointed r)
    {
        var info = Register(r.Run, r.Home, r.Initiator);
        info.Store ??= await ReachableAsync(r.Store, r.StoreToken);
        await _warm.Value;
    }

    private CheckpointCoordinator? CoordinatorOf(ICheckpointMessage m) => m switch
    {
        VrJoined j => _runs.GetValueOrDefault(j.Run)?.Coordinator,
        PartTaken p => _runs.GetValueOrDefault(p.Run)?.Coordinator,
        PartStored p => _runs.GetValueOrDefault(p.Run)?.Coordinator,
        River.Deployed d => _runs.GetValueOrDefault(d.Run)?.Coordinator,
        _ => null,
    };

    /// <summary>A logged or replayed packet, queued again for its receiver here through the sequence check.</summary>
    private void Requeue(byte[] frame)
    {
        var packet = _vm.ReadPacket(frame);
        if (_vm.TryGetLocal(packet.Dest, out var to))
        {
            if (to.Mailbox.Bounded) packet.QueueCost = FlowControl.LocalCost(packet);
            Post(to, packet);
        }
    }

    /// <summary>
    /// Drops logged packets their receiver holds in the round, or whose receiver had ended. What goes to a receiver
    /// not in the round stays, whoever sent it: lost, that receiver starts over from the top and needs it all
    /// (a worker's first packet from an initiator that never checkpoints, pruned, left a restarted Heat worker waiting for ever).
    /// </summary>
    private void Prune(RoundDone done)
    {
        var received = done.Received.ToDictionary(r => r.Receiver, r => r.From.ToDictionary(c => c.Peer, c => c.Seq));
        var ended = done.Ended.ToHashSet();
        foreach (var state in _vrs.Values.Where(s => s.Run.Id == done.Run))
            lock (state.Lock)
            {
                var self = state.Context.Id;
                state.Log.RemoveAll(p => ended.Contains(p.Dest) || (received.TryGetValue(p.Dest, out var from) && p.Seq <= from.GetValueOrDefault(self)));
            }
    }

    private async Task RollBackAsync(RollBack r)
    {
        var doomed = r.Vrs.Select(id => _vm.TryGetLocal(id, out var vr) ? vr : null).OfType<VrContext>().ToList();
        var states = new List<VrState>();
        foreach (var vr in doomed)
        {
            if (_vrs.TryGetValue(vr, out var state))
            {
                state.RolledBack = true;
                states.Add(state);
            }
            vr.Kill();
        }
        await Task.WhenAll(doomed.Select(v => v.Ended.ContinueWith(_ => { }, TaskScheduler.Default)));
        // Their parts still being stored, too: none may land in the store after the home VM deleted the rounds it rolls back.
        await Task.WhenAll(states.Select(s =>
        {
            lock (s.Lock) return s.Sending;
        }));
    }

    /// <summary>A VM of the cluster is gone: sends of the runs here wait for the home VM's recovery (it may move their receivers).</summary>
    public void OnVmGone(VmId id)
    {
        foreach (var run in _runs.Values)
        {
            if (run.Home == id || run.Recovery(id).IsCompleted) continue; // the run ended with its initiator's VM, or this loss was recovered from
            run.Resumed.Reset();
            run.Recovering = true;
            run.Coordinator?.OnVmGone(id);
        }
    }

    private void OnResume(Resume r)
    {
        if (!_runs.TryGetValue(r.Run, out var run)) return;
        foreach (var at in r.Locations)
            if (at.Vm != _vm.Id) _vm.Router.Learn(at.Vr, at.Vm);
        // What VRs that go on sent to the restarted ones: their receivers drop what they hold already.
        var restarted = r.Restarted.ToHashSet();
        var where = r.Locations.ToDictionary(l => l.Vr, l => l.Vm);
        var owed = new Dictionary<VmId, List<byte[]>>();
        foreach (var state in _vrs.Values.Where(s => s.Run.Id == r.Run && !restarted.Contains(s.Context.Id)))
            lock (state.Lock)
                foreach (var p in state.Log.Where(p => restarted.Contains(p.Dest) && where.ContainsKey(p.Dest)))
                    (owed.TryGetValue(where[p.Dest], out var list) ? list : owed[where[p.Dest]] = []).Add(p.Frame(_vm.Serializer));
        foreach (var (vmId, frames) in owed) SendTo(vmId, new Replay(r.Run, [.. frames]));
        // The new epoch before the restarted VRs run: the first thing one does may be a Checkpoint(), which the home drops as stale if stamped with the old one.
        run.Epoch = r.Epoch;
        foreach (var gone in r.Gone) run.Recovered(gone);
        foreach (var id in r.Restarted)
            if (_holding.TryRemove(id, out var go)) go.TrySetResult();
        run.Recovering = false;
        run.Resumed.Set();
    }

    // ---- messaging ----------------------------------------------------------------------------------

    /// <summary>Sends to a VM, this one included (handled here directly).</summary>
    public void SendTo(VmId vm, ICheckpointMessage message)
    {
        if (vm == _vm.Id) _ = HandleAsync(message);
        else _vm.Membership.PeerOf(vm)?.Send(Frames.Control(_vm.Serializer, message));
    }

    private void ToHome(RunInfo run, ICheckpointMessage message) => SendTo(run.Home, message);

    /// <summary>Asks one VM and completes when it answered, or when it left the cluster.</summary>
    public async Task AskAsync(VmId vm, Func<long, ICheckpointMessage> make)
    {
        var request = Interlocked.Increment(ref _nextRequest);
        var message = make(request);
        if (vm == _vm.Id)
        {
            await HandleAsync(message);
            return;
        }
        var answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _asked[request] = answered;
        _vm.Membership.PeerOf(vm)?.Send(Frames.Control(_vm.Serializer, message));
        while (!answered.Task.IsCompleted && _vm.Membership.PeerOf(vm) is not null)
            await Task.WhenAny(answered.Task, Task.Delay(200));
        _asked.TryRemove(request, out _);
    }

    /// <summary>Asks every VM of the cluster (this one included) and completes when all answered or left.</summary>
    public Task AskAll(Func<long, ICheckpointMessage> make) =>
        Task.WhenAll(Members().Select(vm => AskAsync(vm, make)));

    public IEnumerable<VmId> Members() => _vm.Membership.Snapshot().Select(m => m.Info.Id).Where(id => id != _vm.Id).Prepend(_vm.Id);
}

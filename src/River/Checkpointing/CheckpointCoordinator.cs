using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace River;

/// <summary>
/// The home VM's side of a checkpointed run: it stores the parts VRs send (each durable before it counts),
/// declares a round complete when every participant's part of it is durable (or the participant had
/// ended), prunes old rounds (two are kept), and, when a VM of the run is gone, rolls the participants
/// back to the last complete round, restarts the lost VRs on VMs that remain and replays the channel state.
/// One loop does all of it, in order; only the writes of parts run beside it, each started as its part arrives
/// (so a round's parts are written at the same time), and counted by the loop in the order they arrived.
/// </summary>
internal sealed class CheckpointCoordinator
{
    /// <summary>How many complete rounds are kept (the newest may be unreadable: the one before it is the fallback).</summary>
    public const int Kept = 2;

    private readonly RiverVm _vm;
    private readonly CheckpointAgent _agent;
    private readonly CheckpointAgent.RunInfo _run;
    private readonly ICheckpointStore _store;
    private readonly ILogger _logger;
    private readonly Channel<Func<Task>> _work = Channel.CreateUnbounded<Func<Task>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<VrId, Known> _known = [];
    private readonly List<DeployRecord> _deploys = [];
    private readonly Lock _writesLock = new();
    private readonly HashSet<Task<VrPart>> _writes = []; // parts being written, started beside the loop
    private bool _stopped;
    private int _complete;

    /// <summary>A VR of the run: how to start it again, where it runs, which parts of it are durable.</summary>
    private sealed class Known(VrIdentity identity, VmId at)
    {
        public VrIdentity Identity = identity;
        public VmId At = at;
        public readonly SortedDictionary<int, (SeqCount[] Received, long Size, long Time)> Parts = [];
        public int? EndedAt;
        public bool Participant => Parts.Count > 0 || EndedAt is not null;
    }

    public CheckpointCoordinator(RiverVm vm, CheckpointAgent agent, CheckpointAgent.RunInfo run, ICheckpointStore store, ILogger logger, int restoredRound)
    {
        (_vm, _agent, _run, _store, _logger, _complete) = (vm, agent, run, store, logger, restoredRound);
        _loop = Task.Run(async () =>
        {
            await foreach (var step in _work.Reader.ReadAllAsync())
            {
                try
                {
                    await step();
                }
                catch (Exception e)
                {
                    _logger.CheckpointStepFailed(step.Method.Name, e);
                }
            }
        });
    }

    private readonly Task _loop;

    /// <summary>
    /// The run ended: every VM stores the parts it has under way and tells this one first (bounded, for a VM that hangs),
    /// then what is queued is done; later parts are ignored.
    /// </summary>
    public async Task StopAsync()
    {
        try
        {
            await _agent.AskAll(request => new RunEnding(_run.Id, request)).WaitAsync(EndingBound);
        }
        catch (TimeoutException e)
        {
            _logger.CheckpointStepFailed(nameof(RunEnding), e);
        }
        lock (_writesLock)
        {
            _stopped = true;
            _work.Writer.TryComplete();
        }
        await _loop;
    }

    private static readonly TimeSpan EndingBound = TimeSpan.FromSeconds(30);

    /// <summary>The last complete round.</summary>
    public int Complete => Volatile.Read(ref _complete);

    private void Enqueue(Func<Task> step) => _work.Writer.TryWrite(step);

    public void OnMessage(ICheckpointMessage message)
    {
        switch (message)
        {
            case VrJoined j:
                Enqueue(() =>
                {
                    if (_known.TryGetValue(j.Vr.Id, out var k)) (k.Identity, k.At) = (j.Vr, j.At);
                    else _known[j.Vr.Id] = new Known(j.Vr, j.At);
                    return Task.CompletedTask;
                });
                break;
            case PartTaken p:
                lock (_writesLock)
                {
                    if (_stopped) break;
                    // Not while a recovery is under way: it waits for the writes started before it, then deletes the rounds after its own.
                    Task<VrPart>? writing = null;
                    if (!_run.Recovering && p.Epoch == _run.Epoch) _writes.Add(writing = Task.Run(() => WritePartAsync(p)));
                    Enqueue(() => StorePartAsync(p, writing));
                }
                break;
            case PartStored p:
                Enqueue(() =>
                {
                    if (p.Epoch != _run.Epoch) return Task.CompletedTask; // from an incarnation rolled back since
                    Count(p.Vr, p.Number, p.Ended, p.Received, p.Size, p.Time);
                    return CompleteRoundsAsync();
                });
                break;
            case Deployed d:
                Enqueue(() =>
                {
                    _deploys.Add(d.Record);
                    return Task.CompletedTask;
                });
                break;
        }
    }

    public void OnVmGone(VmId gone) => Enqueue(() => RecoverAsync(gone));

    private static string RoundFolder(int round) => $"round-{round:D6}/";

    private const string EndedFolder = "ended/";

    public static string PartName(VrId vr, int round, bool ended) => ended ? $"{EndedFolder}{vr}.part" : $"{RoundFolder(round)}{vr}.part";

    public static string ManifestName(int round) => $"{RoundFolder(round)}manifest";

    /// <summary>Writes a part's file, sealed by the VR's VM; its part, as the name and the loop need it.</summary>
    private async Task<VrPart> WritePartAsync(PartTaken taken)
    {
        var (part, _) = PartPayload.Read(_vm.Serializer, CheckpointFile.PayloadOf(taken.File), $"the part of VR {taken.Vr}");
        await _store.WriteAsync(PartName(taken.Vr, part.Number, part.Ended), taken.File);
        return part;
    }

    /// <summary>Counts a part once it is durable (<paramref name="writing"/>, or written here when it was not started on arrival).</summary>
    private async Task StorePartAsync(PartTaken taken, Task<VrPart>? writing)
    {
        VrPart part;
        if (writing is null)
        {
            if (taken.Epoch != _run.Epoch) return; // from an incarnation rolled back since
            part = await WritePartAsync(taken);
        }
        else
        {
            try
            {
                part = await writing;
            }
            finally
            {
                lock (_writesLock) _writes.Remove(writing);
            }
            if (taken.Epoch != _run.Epoch) return; // rolled back while written: the recovery waited for it and deleted its round
        }
        Count(part.Vr, part.Number, part.Ended, part.Received, taken.File.Length, part.Time);
        await CompleteRoundsAsync();
    }

    /// <summary>A VR's part, taken at <paramref name="time"/>, is durable: it counts for its round.</summary>
    private void Count(VrIdentity vr, int number, bool ended, SeqCount[] received, long size, long time)
    {
        if (!_known.TryGetValue(vr.Id, out var known)) _known[vr.Id] = known = new Known(vr, _vm.Id);
        if (ended) known.EndedAt = number;
        else known.Parts[number] = (received, size, time);
        // Its first part, come after its round completed without it: it takes part from the next round on, and its file,
        // which that round's manifest does not name, goes (or it would come back as a round already pruned).
        if (!ended && number <= _complete) _store.Delete(PartName(vr.Id, number, ended: false));
    }

    /// <summary>Declares every round whose parts are all durable complete, oldest first.</summary>
    private async Task CompleteRoundsAsync()
    {
        while (true)
        {
            var round = _complete + 1;
            var participants = _known.Values.Where(k => k.Participant).ToList();
            var taking = participants.Where(k => k.Parts.ContainsKey(round)).ToList();
            if (taking.Count == 0 || participants.Any(k => !k.Parts.ContainsKey(round) && !(k.EndedAt <= round))) return;
            var ended = participants.Where(k => !k.Parts.ContainsKey(round)).Select(k => k.Identity.Id).ToArray();
            var size = taking.Sum(k => k.Parts[round].Size);
            var initiator = _known.GetValueOrDefault(_run.Initiator)?.Identity.Type ?? "";
            // The manifest shows at once and is flushed with the folders holding the parts' names and the round folder's
            // own: one wait. Until it is done a crash may leave it torn, or without a part, and the round before is used.
            var manifest = new RoundManifest(_run.Id, round, DateTime.UtcNow.Ticks, _run.Initiator, initiator,
                [.. taking.Select(k => k.Identity.Id)], ended, size, [.. _deploys]);
            await _store.PublishAsync(ManifestName(round), CheckpointFile.Of(_vm.Serializer, manifest),
                ended.Length > 0 ? [RoundFolder(round), EndedFolder, ""] : [RoundFolder(round), ""]);
            var took = TimeSpan.FromTicks(DateTime.UtcNow.Ticks - taking.Min(k => k.Parts[round].Time));
            Volatile.Write(ref _complete, round);
            foreach (var old in _store.List("round-").Select(RoundOf).Where(r => r <= round - Kept).Distinct()) _store.Delete(RoundFolder(old));
            _logger.RoundComplete(round, took.TotalMilliseconds, taking.Count, size, _store.Location);
            RiverMetrics.CheckpointRound(_vm.Id);
            var done = new RoundDone(_run.Id, round, manifest.Participants, ended,
                [.. taking.Select(k => new ReceivedBy(k.Identity.Id, k.Parts[round].Received))]);
            foreach (var vm in _agent.Members()) _agent.SendTo(vm, done);
            foreach (var k in participants)
                foreach (var old in k.Parts.Keys.Where(r => r < round).ToList()) k.Parts.Remove(old);
        }
    }

    public static int RoundOf(string name) =>
        name.StartsWith("round-", StringComparison.Ordinal) && int.TryParse(name.AsSpan(6, 6), out var r) ? r : -1;

    /// <summary>
    /// The newest complete round that reads back whole (manifest and every part pass their checksums),
    /// at most <paramref name="newest"/>, with its parts; round 0 (none) when no such round is left.
    /// </summary>
    public static async Task<(RoundManifest? Manifest, List<VrPart> Parts, List<byte[]> Raw)> ReadRoundAsync(
        ICheckpointStore store, RiverSerializer serializer, int newest, ILogger logger)
    {
        for (var round = newest; round >= 1; round--)
        {
            try
            {
                if (await ReadWholeAsync(store, serializer, round) is { } read) return (read.Manifest, read.Parts, read.Raw);
            }
            catch (InvalidDataException e)
            {
                logger.RoundUnusable(round, e.Message);
            }
        }
        return (null, [], []);
    }

    /// <summary>A complete round as read back: its manifest, its parts (serialized too) and the bytes of its files.</summary>
    private sealed record WholeRound(RoundManifest Manifest, List<VrPart> Parts, List<byte[]> Raw, long Bytes);

    /// <summary>
    /// Round <paramref name="round"/> read back whole: its manifest and every part it names, each checked against its
    /// checksum and read through the serializer's allow-list; null when it has no manifest (it never completed).
    /// </summary>
    /// <exception cref="InvalidDataException">a file of the round is missing, torn, altered or not what its name says.</exception>
    private static async Task<WholeRound?> ReadWholeAsync(ICheckpointStore store, RiverSerializer serializer, int round)
    {
        var manifestFile = await store.ReadAsync(ManifestName(round));
        if (manifestFile is null) return null;
        var pos = 0;
        var manifest = CheckpointFile.Read<RoundManifest>(serializer, CheckpointFile.Open(manifestFile, ManifestName(round)), ref pos, ManifestName(round));
        var (parts, raw, bytes) = (new List<VrPart>(), new List<byte[]>(), (long)manifestFile.Length);
        foreach (var (vr, ended) in manifest.Participants.Select(p => (p, false)).Concat(manifest.Ended.Select(p => (p, true))))
        {
            var name = PartName(vr, round, ended);
            var (part, payload, length) = await ReadPartAsync(store, serializer, name) ?? throw new InvalidDataException($"{name} is missing.");
            parts.Add(part);
            raw.Add(payload);
            bytes += length;
        }
        return new WholeRound(manifest, parts, raw, bytes);
    }

    /// <summary>The part stored under <paramref name="name"/>, its payload and its file's length; null when there is none.</summary>
    /// <exception cref="InvalidDataException">the file fails its checksum or holds no part.</exception>
    private static async Task<(VrPart Part, byte[] Payload, long Length)?> ReadPartAsync(ICheckpointStore store, RiverSerializer serializer, string name)
    {
        if (await store.ReadAsync(name) is not { } file) return null;
        var payload = CheckpointFile.Open(file, name);
        return (PartPayload.Read(serializer, payload, name).Part, payload.ToArray(), file.Length);
    }

    /// <summary>
    /// Every round in <paramref name="store"/>, oldest first, read as a recovery would read it (<c>river checkpoints</c>):
    /// complete (a manifest, and every part reads back whole), partial (parts that read back whole, no manifest yet) or
    /// corrupt (a file of it fails its checksum, is missing or cannot be read).
    /// </summary>
    public static async Task<List<RoundSummary>> ListRoundsAsync(ICheckpointStore store, RiverSerializer serializer)
    {
        var rounds = new List<RoundSummary>();
        foreach (var files in store.List("round-").GroupBy(RoundOf).Where(g => g.Key > 0).OrderBy(g => g.Key))
        {
            var round = files.Key;
            try
            {
                if (await ReadWholeAsync(store, serializer, round) is { } whole)
                {
                    var first = whole.Parts.Where(p => !p.Ended).Select(p => p.Time).DefaultIfEmpty(whole.Manifest.Time).Min();
                    rounds.Add(new RoundSummary(round, RoundState.Complete, new DateTime(whole.Manifest.Time, DateTimeKind.Utc),
                        TimeSpan.FromTicks(whole.Manifest.Time - first), [.. whole.Parts.Select(p => new RoundVr(p.Vr.Id, p.Vr.Type, p.Ended))],
                        whole.Bytes, null));
                    continue;
                }
                var parts = new List<VrPart>();
                var bytes = 0L;
                foreach (var name in files.Where(f => f.EndsWith(".part", StringComparison.Ordinal)))
                {
                    // Listed a moment ago; a run that goes on may have pruned it since.
                    if (await ReadPartAsync(store, serializer, name) is not var (part, _, length)) continue;
                    parts.Add(part);
                    bytes += length;
                }
                rounds.Add(new RoundSummary(round, RoundState.Partial, parts.Count == 0 ? null : new DateTime(parts.Max(p => p.Time), DateTimeKind.Utc),
                    null, [.. parts.Select(p => new RoundVr(p.Vr.Id, p.Vr.Type, false))], bytes, null));
            }
            catch (InvalidDataException e)
            {
                // Which VRs and how many bytes, as far as the names and sizes of its files tell.
                var named = files.Select(f => Guid.TryParse(Path.GetFileNameWithoutExtension(f), out var id) && f.EndsWith(".part", StringComparison.Ordinal)
                    ? new RoundVr(new VrId(id), null, false) : null).OfType<RoundVr>();
                var bytes = 0L;
                foreach (var f in files) bytes += (await store.ReadAsync(f))?.Length ?? 0;
                rounds.Add(new RoundSummary(round, RoundState.Corrupt, null, null, [.. named], bytes, e.Message));
            }
        }
        return rounds;
    }

    /// <summary>The newest complete round in <paramref name="store"/> (0 when none).</summary>
    public static int NewestRound(ICheckpointStore store) =>
        store.List("round-").Where(n => n.EndsWith("/manifest", StringComparison.Ordinal)).Select(RoundOf).DefaultIfEmpty(0).Max();

    private async Task RecoverAsync(VmId gone)
    {
        // Parts written as they arrived, before the run was recovering: done before rounds are read or deleted.
        Task[] writing;
        lock (_writesLock) writing = [.. _writes];
        await Task.WhenAll(writing).ContinueWith(_ => { }, TaskScheduler.Default); // a failed one is logged by its own step
        var lost = _known.Values.Where(k => k.At == gone).ToList();
        var clock = Stopwatch.StartNew();
        var (manifest, parts, raw) = lost.Count == 0 ? (null, [], []) : await ReadRoundAsync(_store, _vm.Serializer, _complete, _logger);
        var round = manifest?.Round ?? 0;
        // Participants start again from their parts (none in round 0: from the beginning); lost VRs that never checkpointed start over.
        var fromPart = FromParts(parts, raw);
        var restart = lost.Count == 0 ? []
            : _known.Values.Where(k => round == 0 ? k.Participant || k.At == gone : fromPart.ContainsKey(k.Identity.Id) || k.At == gone)
                .Where(k => k.Identity.Id != _run.Initiator || fromPart.ContainsKey(k.Identity.Id)).ToList();
        if (restart.Count > 0)
        {
            _logger.Recovering(gone, restart.Count, round, lost.Count);
            var ids = restart.Select(k => k.Identity.Id).ToArray();
            await _agent.AskAll(id => new RollBack(_run.Id, id, ids));
            await RestartAsync(restart, fromPart, gone);
            ReplayChannels(parts);
            // Rounds after the one restored are redone by the restarted VRs.
            foreach (var r in _store.List("round-").Select(RoundOf).Where(r => r > round).Distinct()) _store.Delete(RoundFolder(r));
            foreach (var k in restart)
            {
                foreach (var r in k.Parts.Keys.Where(r => r > round).ToList()) k.Parts.Remove(r);
                k.EndedAt = null;
            }
            Volatile.Write(ref _complete, round);
        }
        _known.Values.Where(k => k.At == gone).ToList().ForEach(k => _known.Remove(k.Identity.Id)); // lost and not restarted
        var epoch = _run.Epoch + 1;
        var restarted = restart.Select(k => k.Identity.Id).ToArray();
        var locations = _known.Values.Select(k => new VrLocation(k.Identity.Id, k.At)).ToArray();
        await _agent.AskAll(id => new Resume(_run.Id, id, epoch, [gone], locations, restarted));
        if (restart.Count > 0) _logger.Recovered(gone, clock.ElapsedMilliseconds, restart.Count, round);
    }

    /// <summary>The serialized part each participant of a round restarts from, by VR (ended ones restart from none).</summary>
    private static Dictionary<VrId, byte[]> FromParts(List<VrPart> parts, List<byte[]> raw) =>
        parts.Zip(raw).Where(p => !p.First.Ended).ToDictionary(p => p.First.Vr.Id, p => p.Second);

    /// <summary>
    /// <c>--restart</c>: every participant of the round starts again from its part on the VMs there are now; an
    /// initiator that never checkpointed runs again from the top, and its deploys get the restarted VRs.
    /// </summary>
    public Task RestartFromDiskAsync(RoundManifest manifest, List<VrPart> parts, List<byte[]> raw, Type initiatorType, IReadOnlyList<string> args)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(async () =>
        {
            try
            {
                _deploys.AddRange(manifest.Deploys);
                foreach (var (part, bytes) in parts.Zip(raw))
                {
                    var known = _known[part.Vr.Id] = new Known(part.Vr, _vm.Id);
                    if (part.Ended) known.EndedAt = part.Number;
                    else known.Parts[part.Number] = (part.Received, bytes.Length, part.Time);
                }
                var fromPart = FromParts(parts, raw);
                var restart = _known.Values.Where(k => fromPart.ContainsKey(k.Identity.Id)).ToList();
                List<VrId> restarted = [.. restart.Select(k => k.Identity.Id)];
                if (!fromPart.ContainsKey(_run.Initiator))
                {
                    // Runs again from the top, held like the others until its packets (replayed below) are queued.
                    _known[_run.Initiator] = new Known(new VrIdentity(_run.Initiator, initiatorType.AssemblyQualifiedName!, null, [.. args], []), _vm.Id);
                    await _agent.AskAsync(_vm.Id, id => new Prepare(_run.Id, id, _run.Initiator, null));
                    _vm.StartInitiator(initiatorType, _run.Initiator, _run.Id, args);
                    restarted.Add(_run.Initiator);
                }
                await RestartAsync(restart, fromPart, null);
                ReplayChannels(parts);
                await _agent.AskAll(id => new Resume(_run.Id, id, _run.Epoch + 1, [], [.. _known.Values.Select(k => new VrLocation(k.Identity.Id, k.At))], [.. restarted]));
                done.TrySetResult();
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        });
        return done.Task;
    }

    /// <summary>Starts each VR again (held until Resume) where it ran, or, lost, on the VMs that remain in turn.</summary>
    private async Task RestartAsync(List<Known> restart, Dictionary<VrId, byte[]> fromPart, VmId? gone)
    {
        var members = _vm.Membership.Snapshot().Select(m => m.Info).Where(i => i.Id != _vm.Id && i.Id != gone).Prepend(_vm.Info).ToList();
        var next = 0;
        foreach (var k in restart)
        {
            var target = members.FirstOrDefault(m => m.Id == k.At) ?? members[next++ % members.Count];
            await _agent.AskAsync(target.Id, id => new Prepare(_run.Id, id, k.Identity.Id, fromPart.GetValueOrDefault(k.Identity.Id)));
            var type = TypeResolver.Load(k.Identity.Type);
            var args = _vm.Serializer.ReadValue(k.Identity.DeployArgs) as object?[] ?? [];
            await Task.Run(() => _vm.Deployer.DeployAs(type, [target], [k.Identity.Id], k.Identity.Parent, k.Identity.Args, args, new ProgramRun.Ref(_run.Id, null)));
            k.At = target.Id;
        }
    }

    /// <summary>What the round's participants had sent and their receivers may not hold: to wherever each receiver runs now.</summary>
    private void ReplayChannels(List<VrPart> parts)
    {
        foreach (var group in parts.SelectMany(p => p.Log).GroupBy(l => l.Dest))
            if (_known.TryGetValue(group.Key, out var dest))
                _agent.SendTo(dest.At, new Replay(_run.Id, [.. group.Select(l => l.Frame)]));
    }
}

namespace River.Mpi;

/// <summary>
/// One rank's view of an MPI job: how it starts (rank 0 deploys the others round-robin and hands out the
/// table of ranks), how it ends (rank 0 waits for every rank), and how a failure anywhere becomes an abort
/// everywhere. Failures travel two ways: a rank whose <c>Run</c> throws tells every rank itself
/// (<c>mpi.abort</c>); a rank that dies without a word (its VM lost) is reported by River's monitors
/// (<c>river.down</c>): rank 0 watches every rank, every rank watches rank 0.
/// </summary>
internal sealed class Job
{
    private const string StartTag = "mpi.start";
    private const string AbortTag = "mpi.abort";
    private const string DownTag = "river.down";

    /// <summary>How often a rank waiting for a message looks for an abort (a blocked receive is woken to look).</summary>
    private static readonly TimeSpan AbortPoll = TimeSpan.FromMilliseconds(100);

    private readonly MpiProgram _vr;
    private VrId[] _ranks = [];
    private long _abortLookedFor = Environment.TickCount64;

    private Job(MpiProgram vr)
    {
        _vr = vr;
        Port = new Port(vr, this);
    }

    public int Rank { get; private set; }

    public Port Port { get; }

    public Communicator World { get; private set; } = null!;

    /// <summary>Rank 0: deploys ranks 1..n-1 (n from <c>-n</c>, else one per VM) round-robin over the VMs, itself on the first.</summary>
    public static Job Start(MpiProgram vr)
    {
        var job = new Job(vr);
        var vms = vr.Discover();
        var n = vr.DeployArgs is [int ranks, ..] && ranks > 0 ? ranks : vms.Count;
        var others = n > 1 ? vr.Deploy(vr.GetType(), Enumerable.Range(1, n - 1).Select(r => vms[r % vms.Count])) : [];
        job.Begin([vr.Id, .. others]);
        foreach (var id in others) vr.Monitor(id);
        foreach (var id in others) vr.Send(id, new { tag = StartTag, ranks = job._ranks });
        return job;
    }

    /// <summary>Ranks 1..n-1: watch rank 0 (their parent) and wait for the table of ranks.</summary>
    public static Job Join(MpiProgram vr)
    {
        var job = new Job(vr);
        vr.Monitor(vr.Parent!.Value);
        var start = job.Receive(new { tag = StartTag });
        job.Begin(start.Get<VrId[]>("ranks"));
        return job;
    }

    private void Begin(VrId[] ranks)
    {
        _ranks = ranks;
        Rank = Array.IndexOf(ranks, _vr.Id);
        if (Rank < 0) throw new InvalidOperationException($"VR {_vr.Id} is not in the job's table of ranks.");
        World = new Communicator(this, ranks, Rank, context: 0);
    }

    /// <summary>Runs the rank's body; a failure is told to every rank and becomes this rank's <see cref="MpiAbortedException"/>. Rank 0 then waits for every rank to end.</summary>
    public void Execute(Action<Communicator> run)
    {
        try
        {
            run(World);
        }
        catch (Exception e) when (e is not MpiAbortedException)
        {
            var error = $"{e.GetType().FullName}: {e.Message}";
            TellAbort(Rank, error);
            throw new MpiAbortedException(Rank, error, e);
        }
        if (Rank == 0) AwaitRanks();
    }

    /// <summary>Rank 0 ends last: every other rank must end normally, or the job fails.</summary>
    private void AwaitRanks()
    {
        foreach (var id in _ranks.AsSpan(1)) Receive(new { tag = DownTag, src = id, reason = "normal" });
    }

    /// <summary>
    /// Blocks until a packet matches (a match object, or a <c>Func&lt;Packet, bool&gt;</c> for several posted
    /// receives at once), looking for an abort every <see cref="AbortPoll"/>.
    /// </summary>
    public Packet Receive(object match)
    {
        while (true)
        {
            try
            {
                return _vr.Recv(match, AbortPoll);
            }
            catch (TimeoutException)
            {
                ThrowIfAborted();
            }
        }
    }

    /// <summary>
    /// <see cref="ThrowIfAborted"/> at most once every <see cref="AbortPoll"/>: for calls that never block
    /// (<c>Test</c>), so a rank polling in a loop still learns of an abort without paying for a look each time.
    /// </summary>
    public void PollAbort()
    {
        if (Environment.TickCount64 - _abortLookedFor >= AbortPoll.TotalMilliseconds) ThrowIfAborted();
    }

    /// <summary>Throws <see cref="MpiAbortedException"/> when a rank told of its failure or a watched rank ended badly.</summary>
    public void ThrowIfAborted()
    {
        _abortLookedFor = Environment.TickCount64;
        if (_vr.TryRecv(new { tag = AbortTag }, out var abort))
            throw new MpiAbortedException(abort.Get<int>("rank"), abort.Get<string>("error"));
        if (!_vr.TryRecv(IsRankDown, out var down)) return;
        var rank = RankOf(down.Src);
        var error = down.Get<string?>("error") ?? $"its VR is {down.Get<string>("reason")} (its VM died or cannot be reached)";
        if (Rank == 0) TellAbort(rank, error); // only rank 0 watches the others: it tells them
        throw new MpiAbortedException(rank, error);
    }

    /// <summary>A rank (not some VR the program itself monitors) ended badly.</summary>
    private bool IsRankDown(Packet p) =>
        p.TryGet<string>("tag", out var tag) && tag == DownTag
        && p.TryGet<string>("reason", out var reason) && reason != "normal"
        && RankOf(p.Src) >= 0;

    /// <summary>A VR's rank; before the table of ranks arrives only rank 0 (the parent) is known.</summary>
    private int RankOf(VrId vr) => _ranks.Length > 0 ? Array.IndexOf(_ranks, vr) : vr == _vr.Parent ? 0 : -1;

    private void TellAbort(int rank, string error)
    {
        foreach (var id in _ranks)
        {
            if (id == _vr.Id) continue;
            try
            {
                _vr.Send(id, new { tag = AbortTag, rank, error });
            }
            catch (Exception e) when (e is QueueFullException or VmGoneException)
            {
                // That rank cannot take it; it learns of the abort from rank 0's end instead.
            }
        }
    }
}

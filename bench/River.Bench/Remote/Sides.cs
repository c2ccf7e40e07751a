namespace River.Bench.Remote;

/// <summary>A baseline of the remote scenarios: its name in results, and how to start it.</summary>
internal sealed record Baseline(string Name, Func<RunSettings, IRemoteSide> Start)
{
    public static Baseline Raw { get; } = new(RawSide.BaselineName, RawSide.Start);

    public static Baseline Akka { get; } = new(AkkaSide.BaselineName, AkkaSide.Start);

    public static Baseline Proto { get; } = new(ProtoSide.BaselineName, ProtoSide.Start);

    /// <summary>River itself with frames that carry no MAC: what per-frame authentication costs, same run.</summary>
    public static Baseline RiverWithoutMac { get; } = new(RiverSide.PlainName, s => RiverSide.Start(s, plainFrames: true));
}

/// <summary>
/// River and the baselines of one remote scenario, started together (each far end a process of its
/// own) and stopped together. A baseline that cannot start or fails while measured is reported
/// (<see cref="RunSettings.Failed"/>) and left out; the others still run. River failing fails the scenario.
/// </summary>
internal sealed class Sides : IDisposable
{
    private readonly RunSettings _settings;
    private readonly List<IRemoteSide> _sides;

    private Sides(RunSettings settings, List<IRemoteSide> sides) => (_settings, _sides) = (settings, sides);

    /// <summary>
    /// River's side first, then the <paramref name="baselines"/> the run asks for (<c>--baselines</c>);
    /// started in parallel (the 2 cores overlap process start-up).
    /// </summary>
    public static Sides Start(RunSettings s, params Baseline[] baselines)
    {
        var starting = baselines.Where(b => s.Runs(b.Name)).Select(b => b.Start).Prepend(RiverSide.Start)
            .Select(start => Task.Run(() => start(s))).ToList();
        Task.WaitAll(starting.Select(t => t.ContinueWith(_ => { })));
        var started = starting.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result).ToList();
        if (!starting[0].IsCompletedSuccessfully)
        {
            foreach (var side in started) side.Dispose();
            starting[0].GetAwaiter().GetResult();
        }
        foreach (var failed in starting.Skip(1).Where(t => !t.IsCompletedSuccessfully))
            s.Failed($"a baseline could not start: {failed.Exception?.InnerException?.Message ?? "cancelled"}");
        return new Sides(s, started);
    }

    public IRemoteSide River => _sides[0];

    /// <summary>
    /// Runs <paramref name="work"/> on every side in alternating rounds (<see cref="Measure.Alternate"/>):
    /// each side's first round warms up as <paramref name="plan"/> says, later rounds are one timed rep
    /// each (the sessions, their connections and far ends stay up between rounds). Returns the samples of
    /// each side that completed, River first.
    /// </summary>
    public List<(IRemoteSide Side, RemoteSample[] Samples)> Measure(Workload work, Plan plan, Func<IRemoteSide, bool>? supports = null)
    {
        var sides = _sides.Where(x => x == River || supports?.Invoke(x) != false).ToList();
        var sessions = new ISession?[sides.Count];
        var failed = new bool[sides.Count];
        try
        {
            for (var i = 0; i < sides.Count; i++) sessions[i] = Guard(i, () => sides[i].Open(work), "set up");
            var samples = Bench.Measure.Alternate(sides.Count, plan, new Plan(0, 1, 0), (i, p) =>
                failed[i] ? [] : Guard(i, () => Bench.Measure.Repeat(p, sessions[i]!.RunOnce), "measure") ?? []);
            return [.. sides.Select((side, i) => (side, samples[i])).Where((_, i) => !failed[i])];
        }
        finally
        {
            foreach (var session in sessions) session?.Dispose();
        }

        T? Guard<T>(int i, Func<T> what, string doing) where T : class
        {
            if (i == 0) return what(); // River: let it fail the scenario
            try
            {
                return what();
            }
            catch (Exception e)
            {
                failed[i] = true;
                _settings.Failed($"{sides[i].Name} could not {doing} {work}: {e.GetBaseException().Message}");
                return null;
            }
        }
    }

    /// <summary>The baselines' samples to report River against; with none measured (<c>--baselines none</c>), one "none" with no samples, so River's figures still show.</summary>
    public static IEnumerable<(string Name, RemoteSample[]? Samples)> Baselines(List<(IRemoteSide Side, RemoteSample[] Samples)> measured) =>
        measured.Count > 1 ? measured.Skip(1).Select(m => (m.Side.Name, (RemoteSample[]?)m.Samples)) : [("none", null)];

    public void Dispose()
    {
        // Each side stops its own far end; in parallel, so a slow shutdown (Akka's) does not add up.
        Parallel.ForEach(_sides, side =>
        {
            try
            {
                side.Dispose();
            }
            catch (Exception e)
            {
                _settings.Log($"stopping {side.Name}: {e.GetBaseException().Message}");
            }
        });
        ChildProcess.KillAll(); // anything a failed side left behind
    }
}

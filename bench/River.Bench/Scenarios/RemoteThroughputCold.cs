using System.Globalization;
using System.Text.RegularExpressions;
using River.Bench.Remote;

namespace River.Bench.Scenarios;

/// <summary>
/// remote-throughput's 1 → 1 request/reply (1,000 in flight) as a short job lives it: each round starts,
/// for River and for each baseline, a fresh client process (this binary, <c>--cold-client</c>) that starts
/// a fresh far end, sets up, and times 200,000 round trips from its first packet (cold); then the same
/// again in that process, after as many more (warm). River is also run with its ReadyToRun code ignored
/// (<c>DOTNET_ReadyToRunExcludeList=River</c>, "river-jit"), which shows what shipping it compiled buys.
/// Sides take turns within a round, so load from elsewhere on the machine falls on all of them.
/// </summary>
internal sealed partial class RemoteThroughputCold : Scenario
{
    private const int Window = 1_000, Trips = 200_000;
    internal const string Jit = "river-jit";

    public override string Name => "remote-throughput-cold";

    public override IEnumerable<Result> Run(RunSettings s)
    {
        var rounds = s.Pick(3, 5);
        string[] names = ["river", .. new[] { Jit, ProtoSide.BaselineName, AkkaSide.BaselineName }.Where(s.Runs)];
        var cold = names.ToDictionary(n => n, _ => new List<double>());
        var warm = names.ToDictionary(n => n, _ => new List<double>());
        for (var round = 0; round < rounds; round++)
        {
            // Rotated each round: no side always runs first (or right after Akka's shutdown).
            foreach (var name in names.Skip(round % names.Length).Concat(names.Take(round % names.Length)))
            {
                var (c, w) = ColdClient.Measure(s, name, Trips, warmReps: s.Pick(1, 2));
                s.Log($"  round {round + 1}, {name}: cold {Trips / c:#,0} trips/s, warm {Trips / w:#,0} trips/s");
                cold[name].Add(Trips / c);
                warm[name].Add(Trips / w);
            }
        }
        foreach (var (phase, rates) in new[] { ("cold", cold), ("warm", warm) })
        {
            var river = Stats.Of(rates["river"]);
            var metric = $"1 → 1, window {Window:N0}, {Trips:N0} trips, fresh process, {phase}";
            var baselines = names.Skip(1).ToList();
            if (baselines.Count == 0) yield return new Result(Name, metric, "trips/s", river, "none", Stats.None);
            foreach (var b in baselines)
                yield return new Result(Name, metric, "trips/s", river, b, Stats.Of(rates[b]), Goal(b));
        }
    }

    private static Target? Goal(string baseline) => baseline switch
    {
        AkkaSide.BaselineName => Target.RatioAtLeast(10),
        ProtoSide.BaselineName => Target.RatioAtLeast(1.5),
        _ => null,
    };
}

/// <summary>
/// The client process of <see cref="RemoteThroughputCold"/>: <c>--cold-client SIDE TRIPS WARM_REPS</c> starts
/// one side (river, river-jit, proto.actor, akka.net) with its far end, runs one cold rep and
/// <c>WARM_REPS</c> more, prints <c>cold-result SECONDS WARM_SECONDS</c> (warm: the last rep) and exits.
/// </summary>
internal static partial class ColdClient
{
    public const string Flag = "--cold-client";

    [GeneratedRegex(@"^cold-result (?<cold>[0-9.eE+-]+) (?<warm>[0-9.eE+-]+)$")]
    private static partial Regex ResultLine();

    /// <summary>Runs one fresh client process for <paramref name="side"/>; returns its cold and warm seconds.</summary>
    public static (double Cold, double Warm) Measure(RunSettings s, string side, int trips, int warmReps)
    {
        var env = side == RemoteThroughputCold.Jit ? new Dictionary<string, string> { ["DOTNET_ReadyToRunExcludeList"] = "River" } : null;
        string[] args = [Flag, side, trips.ToString(CultureInfo.InvariantCulture), warmReps.ToString(CultureInfo.InvariantCulture)];
        // River's client runs as a program built against River's package does (its runtime settings); the peers' with .NET's.
        using var client = side is "river" or RemoteThroughputCold.Jit ? ChildProcess.BenchAsRiverProgram($"cold-{side}", env, args) : ChildProcess.Bench($"cold-{side}", env, args);
        var m = client.WaitFor(ResultLine(), s.Timeout);
        return (double.Parse(m.Groups["cold"].Value, CultureInfo.InvariantCulture), double.Parse(m.Groups["warm"].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>Runs the client mode if <paramref name="args"/> ask for it; false for anything else.</summary>
    public static bool TryRun(string[] args, out int exitCode)
    {
        exitCode = 0;
        if (args is not [Flag, var side, var tripsText, var warmText]) return false;
        var s = new RunSettings(quick: false, Console.Error);
        using (IRemoteSide remote = side switch
        {
            "river" or "river-jit" => RiverSide.Start(s),
            ProtoSide.BaselineName => ProtoSide.Start(s),
            AkkaSide.BaselineName => AkkaSide.Start(s),
            _ => throw new ArgumentException($"unknown side {side}"),
        })
        using (var session = remote.Open(Workload.RequestReply(1, 1_000, int.Parse(tripsText, CultureInfo.InvariantCulture))))
        {
            var cold = session.RunOnce().Seconds;
            var warm = cold;
            for (var i = int.Parse(warmText, CultureInfo.InvariantCulture); i > 0; i--) warm = session.RunOnce().Seconds;
            Console.Out.WriteLine(FormattableString.Invariant($"cold-result {cold:R} {warm:R}"));
            Console.Out.Flush();
        }
        Environment.Exit(0); // framework threads (DotNetty, Kestrel) would keep the process alive
        return true;
    }
}

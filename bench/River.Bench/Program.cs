using System.CommandLine;
using River.Bench;

// River's side-by-side benchmarks: every scenario measures River and a plain .NET baseline in the same run.
// The remote scenarios start this binary again as the baselines' far ends, in hidden server modes.
if (River.Bench.Remote.Servers.TryRun(args, out var serverExit)) return serverExit;
if (River.Bench.Scenarios.ColdClient.TryRun(args, out var clientExit)) return clientExit;

var quick = new Option<bool>("--quick") { Description = "Smaller sizes and fewer repetitions (all scenarios well under 3 minutes on 2 cores)." };
var json = new Option<bool>("--json") { Description = "One JSON object per result line on stdout instead of the table." };
var filter = new Option<string[]>("--filter")
{
    Description = "Run only scenarios whose name contains this text (repeatable). Scenarios: " + string.Join(", ", Scenario.All.Select(x => x.Name)),
    Arity = ArgumentArity.OneOrMore,
};
var baselines = new Option<string[]>("--baselines")
{
    Description = "Remote scenarios: run only these baselines (raw-tcp, akka.net, proto.actor; 'none' for River alone, e.g. to attach a profiler).",
    Arity = ArgumentArity.OneOrMore,
};
var detectorSeconds = new Option<int?>("--detector-seconds") { Description = "detector: how long the false-positive soak beside two CPU burners runs (default 60 s; 10 s with --quick)." };
var root = new RootCommand("River.Bench: River against Channels/serializer baselines, medians after warm-up.") { quick, json, filter, baselines, detectorSeconds };
root.SetAction(parsed => Run(parsed.GetValue(quick), parsed.GetValue(json), parsed.GetValue(filter) ?? [], parsed.GetValue(baselines), parsed.GetValue(detectorSeconds)));
return root.Parse(args).Invoke();

static int Run(bool quick, bool json, string[] filters, string[]? baselines, int? detectorSeconds)
{
    var chosen = Scenario.All.Where(s => filters.Length == 0 || filters.Any(f => s.Name.Contains(f, StringComparison.OrdinalIgnoreCase))).ToList();
    if (chosen.Count == 0)
    {
        Console.Error.WriteLine($"No scenario matches {string.Join(", ", filters)}; there are: {string.Join(", ", Scenario.All.Select(s => s.Name))}.");
        return 2;
    }
    // Progress and the machine go to stderr, so stdout holds only the table or the JSON lines.
    var settings = new RunSettings(quick, Console.Error) { Baselines = baselines is { Length: > 0 } ? baselines : null, DetectorSeconds = detectorSeconds };
    var machine = $"{Machine.Describe()}; SpinWait ping-pong {Machine.SpinWaitRoundTripNs():#,0} ns";
    settings.Log($"River.Bench{(quick ? " --quick" : "")}: {machine}");
    var results = new List<Result>();
    var failed = 0;
    foreach (var scenario in chosen)
    {
        settings.Log($"{scenario.Name} ...");
        var started = DateTime.UtcNow;
        try
        {
            foreach (var r in scenario.Run(settings))
            {
                results.Add(r);
                if (json) Console.Out.WriteLine(Reporter.JsonLine(r));
            }
        }
        catch (Exception e)
        {
            // A broken or hung scenario must not hide the others' results; the exit code reports it.
            failed++;
            settings.Log($"{scenario.Name} FAILED: {e}");
        }
        settings.Log($"{scenario.Name} took {(DateTime.UtcNow - started).TotalSeconds:0.0} s");
    }
    if (!json)
    {
        Console.Out.WriteLine($"River.Bench{(quick ? " --quick" : "")} — {machine}");
        Console.Out.WriteLine();
        Reporter.Table(results, Console.Out);
    }
    return failed == 0 && !settings.PartFailed ? 0 : 1;
}

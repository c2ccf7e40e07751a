using System.Globalization;
using System.Text.RegularExpressions;
using River.Bench.Remote;

namespace River.Bench.Scenarios;

/// <summary>
/// Membership on loopback: a seed <c>river vm</c>, then 7 more launched at once with <c>--seeds</c> the
/// seed only; they learn of each other by gossip. Measured from the VMs' own log lines (their
/// timestamps, ms, taken when the VM logs the event): when each VM listens, and when each has logged
/// "VM x joined" for all 7 others (joins minus leaves: the members <c>Discover</c> returns). Checked
/// afterwards by asking every VM for its members (<c>StatusRequest</c>, as <c>river status</c> does).
/// </summary>
internal sealed partial class Discovery : Scenario
{
    private const int Vms = 8;

    public override string Name => "discovery";

    [GeneratedRegex(@"^(?<time>\d\d:\d\d:\d\d\.\d{3}) info: River\.Vm\[(?<event>[34])\] VM (?<id>\S+) (joined|left)")]
    private static partial Regex MemberLine();

    [GeneratedRegex(@"^(?<time>\d\d:\d\d:\d\d\.\d{3}) info: River\.Transport\[12\] VM (?<id>\S+) listening")]
    private static partial Regex ListeningLine();

    public override IEnumerable<Result> Run(RunSettings s)
    {
        var plan = s.Pick(new Plan(0, 3, 0), new Plan(1, 7, 0));
        using var cluster = new RiverCluster();
        var reps = Measure.Repeat(plan, () => Once(cluster, s));
        yield return new Result(Name, $"{Vms} VMs: launch → each lists the {Vms - 1} others", "ms", Stats.Of(reps.Select(r => r.Complete)),
            $"launch → all {Vms} listening", Stats.Of(reps.Select(r => r.Listening)));
        yield return new Result(Name, $"{Vms} VMs: last listening → each lists the {Vms - 1} others", "ms", Stats.Of(reps.Select(r => r.Complete - r.Listening)),
            "none", Stats.None);
    }

    private readonly record struct Rep(double Listening, double Complete);

    private static Rep Once(RiverCluster cluster, RunSettings s)
    {
        var vms = new List<ChildProcess>();
        try
        {
            var (seed, seedPort) = cluster.StartVmAndWait("seed river vm", s.Timeout);
            vms.Add(seed);
            var launched = DateTime.Now.TimeOfDay;
            for (var i = 1; i < Vms; i++) vms.Add(cluster.StartVm($"river vm {i}", seedPort));
            var deadline = DateTime.UtcNow + s.Timeout;
            while (true)
            {
                var views = vms.Select(View).ToList();
                if (views.All(v => v.Members.Count == Vms - 1 && v.ListeningAt is not null))
                {
                    Confirm(cluster, views, s);
                    return new Rep(
                        Ms(views.Skip(1).Max(v => v.ListeningAt!.Value) - launched),
                        Ms(views.Max(v => v.CompleteAt!.Value) - launched));
                }
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"The {Vms} VMs did not all see each other within {s.Timeout.TotalSeconds:0} s: {string.Join(", ", views.Select(v => v.Members.Count))} members.");
                foreach (var vm in vms) vm.CheckAlive();
                Thread.Sleep(5);
            }
        }
        finally
        {
            ChildProcess.DisposeAll(vms);
        }
    }

    /// <summary>What one VM's log says so far: where it listens, its members, and when the last of them joined.</summary>
    private sealed record VmView(string? Id, int Port, TimeSpan? ListeningAt, HashSet<string> Members, TimeSpan? CompleteAt);

    private static VmView View(ChildProcess vm)
    {
        string? id = null;
        var port = 0;
        TimeSpan? listening = null, complete = null;
        var members = new HashSet<string>();
        foreach (var line in vm.Lines())
        {
            if (ListeningLine().Match(line.Text) is { Success: true } l)
            {
                (id, listening) = (l.Groups["id"].Value, Time(l));
                port = int.Parse(RiverCluster.Listening.Match(line.Text).Groups["port"].Value, CultureInfo.InvariantCulture);
            }
            else if (MemberLine().Match(line.Text) is { Success: true } m)
            {
                if (m.Groups["event"].Value == "3") members.Add(m.Groups["id"].Value);
                else members.Remove(m.Groups["id"].Value);
                complete = members.Count == Vms - 1 ? Time(m) : null;
            }
        }
        return new VmView(id, port, listening, members, complete);
    }

    /// <summary>Every VM, asked directly, lists the other 7: the log lines meant what they seemed to.</summary>
    private static void Confirm(RiverCluster cluster, List<VmView> views, RunSettings s)
    {
        var options = new ClusterOptions { Name = cluster.Name, Key = ClusterOptions.ReadKeyFile(cluster.KeyFile), HandshakeTimeout = s.Timeout };
        foreach (var v in views)
        {
            var members = ClusterStatus.Ask("127.0.0.1", v.Port, options).Members.Select(m => m.Id.ToString()).ToHashSet();
            if (!members.SetEquals(v.Members)) throw new InvalidOperationException($"VM {v.Id} lists {members.Count} members, its log {v.Members.Count}.");
        }
    }

    private static TimeSpan Time(System.Text.RegularExpressions.Match m) => TimeSpan.ParseExact(m.Groups["time"].Value, @"hh\:mm\:ss\.fff", CultureInfo.InvariantCulture);

    // Times of day; a run across midnight wraps.
    private static double Ms(TimeSpan t) => (t < TimeSpan.Zero ? t + TimeSpan.FromDays(1) : t).TotalMilliseconds;
}

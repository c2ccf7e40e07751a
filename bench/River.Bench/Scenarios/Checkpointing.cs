using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using River.Bench.Remote;

namespace River.Bench.Scenarios;

/// <summary>
/// <c>river vm</c> processes (three unless told) and the Heat sample run on them as a program of its own (its process
/// joins as one more VM, and is the checkpointed run's home, where the manifests are written), with a checkpoint
/// directory of its own. Heat deploys one worker on every VM.
/// </summary>
internal sealed class HeatCluster : IDisposable
{
    private static readonly Regex Finished = new(@"^matches sequential: (?<ok>\w+)$", RegexOptions.Compiled);
    private static readonly Regex Parallel = new(@"^parallel run: (?<s>[\d.]+) s", RegexOptions.Compiled);
    private static readonly Regex WorkerCount = new(@"^cells: \d+, steps: \d+, workers: (?<n>\d+)$", RegexOptions.Compiled);

    private readonly RiverCluster _cluster = new();
    private readonly List<(ChildProcess Process, int Port)> _vms = [];
    private readonly TimeSpan _timeout;

    public HeatCluster(TimeSpan timeout, int riverVms = 3)
    {
        _timeout = timeout;
        try
        {
            for (var i = 0; i < riverVms; i++)
                _vms.Add(_cluster.StartVmAndWait($"river vm {i + 1}", timeout, [.. _vms.Take(1).Select(v => v.Port)]));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Where the checkpointed runs keep their rounds (each run clears it first).</summary>
    public string CheckpointDir { get; } = Directory.CreateTempSubdirectory("river-bench-checkpoints-").FullName;

    public IReadOnlyList<ChildProcess> Vms => [.. _vms.Select(v => v.Process)];

    /// <summary>Heat's workers: one on every <c>river vm</c> and one on its own VM.</summary>
    public int Workers => _vms.Count + 1;

    /// <summary>Starts Heat with <paramref name="args"/> on the cluster (seeded with every <c>river vm</c>) and <paramref name="environment"/>.</summary>
    public ChildProcess Start(IReadOnlyDictionary<string, string>? environment, params string[] args) => ChildProcess.Heat("heat", environment, [
        .. args, "--seeds", string.Join(',', _vms.Select(v => $"127.0.0.1:{v.Port}")), "--cluster", _cluster.Name, "--key-file", _cluster.KeyFile, "--bind", "127.0.0.1",
    ]);

    /// <summary>Runs Heat to its end on every VM; its parallel part's seconds (it times deploy to results itself).</summary>
    public double Run(params string[] args) => Run(null, args).Seconds;

    /// <summary>Runs Heat to its end on every VM with <paramref name="environment"/>; its parallel part's seconds and its output.</summary>
    public (double Seconds, List<string> Lines) Run(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        using var heat = Start(environment, args);
        var ok = heat.WaitFor(Finished, _timeout).Groups["ok"].Value;
        Measure.Until(() => heat.HasExited, _timeout, "Heat to exit");
        var lines = heat.Lines().Select(l => l.Text).ToList();
        var workers = lines.Select(l => WorkerCount.Match(l)).First(m => m.Success).Groups["n"].Value;
        if (ok != "True" || workers != $"{Workers}") throw new InvalidOperationException($"Heat ran on {workers} VMs (not {Workers}) or did not match the sequential run ({ok}):\n{string.Join('\n', lines)}");
        return (double.Parse(lines.Select(l => Parallel.Match(l)).First(m => m.Success).Groups["s"].Value, CultureInfo.InvariantCulture), lines);
    }

    public void Dispose()
    {
        ChildProcess.DisposeAll(_vms.Select(v => v.Process));
        _cluster.Dispose();
        Directory.Delete(CheckpointDir, recursive: true);
    }
}

/// <summary>
/// What checkpointing costs a program: the Heat sample (a halo exchange) on four VMs with a round about every second,
/// against the same run without <c>--checkpoint-dir</c>, alternating (target: at most 10% slower); also with one round
/// only, which leaves the cost every packet of a checkpointed run pays (numbered, kept in its sender's log).
/// </summary>
internal sealed class Checkpoint : Scenario
{
    public override string Name => "checkpoint";

    public override IEnumerable<Result> Run(RunSettings s)
    {
        using var cluster = new HeatCluster(s.Timeout);
        var (cells, steps) = (40_000, s.Pick(4_000, 8_000));
        string[] plain = ["--cells", $"{cells}", "--steps", $"{steps}"];
        cluster.Run(plain); // warm-up: the code shipped to the VMs and cached there
        var without = new List<double> { cluster.Run(plain) };
        var every = Math.Max(1, (int)(steps / without[0])); // about one round a second
        string[] Checkpointed(int k) => [.. plain, "--checkpoint-dir", cluster.CheckpointDir, "--checkpoint-every", $"{k}"];
        var (with, once) = (new List<double>(), new List<double>());
        for (var rep = 0; rep < s.Pick(2, 4); rep++)
        {
            with.Add(cluster.Run(Checkpointed(every)));
            once.Add(cluster.Run(Checkpointed(steps)));
            without.Add(cluster.Run(plain));
        }
        var rounds = (steps + every - 1) / every;
        s.Log($"  a round every {every} steps: {string.Join(", ", with.Select(x => $"{x:0.00}"))} s; one round: {string.Join(", ", once.Select(x => $"{x:0.00}"))} s; " +
              $"none: {string.Join(", ", without.Select(x => $"{x:0.00}"))} s; {rounds} rounds a run");
        var what = $"Heat, {cells:N0} cells × {steps:N0} steps on 4 VMs";
        yield return new Result(Name, $"{what}, a round every {every} steps (≈1 s)", "s", Stats.Of(with), "no --checkpoint-dir", Stats.Of(without), Target.RatioAtMost(1.1));
        // One round (at step 0) leaves what every packet of a checkpointed run costs: its number, and its copy in the sender's log.
        yield return new Result(Name, $"{what}, one round (at step 0)", "s", Stats.Of(once), "no --checkpoint-dir", Stats.Of(without));
    }
}

/// <summary>
/// How long one round takes with 8 MiB of state in each of three VRs (the issue's size): Heat with 3 × 1 Mi cells on
/// three VMs, two <c>river vm</c> processes and Heat's own, which is the run's home; 80 steps, a round every 20 (far
/// enough apart that a round's writes are done before the next one's start, on this machine, as the baseline's are).
/// Measured by the home VM from the first part taken (before its VR's fields are captured) to the round's manifest
/// durable, as its log line says. Against a plain <see cref="FileStream"/> writing the same bytes with the same
/// durability, as one thread would: the part files one after another (temporary file, fsync, rename), the manifest
/// (temporary file, rename, fsync), the folder and its parent flushed. Target: at most twice as long.
/// </summary>
internal sealed class CheckpointRound : Scenario
{
    private const int Vrs = 3, CellsPerVr = 1 << 20; // 8 MiB of doubles each

    private static readonly Regex Complete = new(@"Checkpoint round (?<round>\d+) complete in (?<ms>[\d.]+) ms: (?<vrs>\d+) VRs, (?<bytes>\d+) bytes", RegexOptions.Compiled);

    public override string Name => "checkpoint-round";

    public override IEnumerable<Result> Run(RunSettings s)
    {
        using var cluster = new HeatCluster(s.Timeout, riverVms: Vrs - 1);
        var (took, written) = (new List<double>(), new List<double>());
        var baseline = Directory.CreateTempSubdirectory("river-bench-filestream-").FullName;
        var logRounds = new Dictionary<string, string> { ["RIVER_LOG_LEVEL"] = "Information" };
        try
        {
            for (var rep = 0; rep < s.Pick(2, 4) + 1; rep++)
            {
                var (_, lines) = cluster.Run(logRounds, "--cells", $"{Vrs * CellsPerVr}", "--steps", "80", "--checkpoint-every", "20", "--checkpoint-dir", cluster.CheckpointDir);
                var rounds = lines.Select(l => Complete.Match(l)).Where(m => m.Success && m.Groups["vrs"].Value == $"{Vrs}").ToList();
                if (rounds.Count == 0) throw new InvalidOperationException($"no round of {Vrs} VRs completed:\n{string.Join('\n', lines)}");
                s.Log($"  rounds of {rounds[0].Groups["bytes"].Value} bytes: {string.Join(", ", rounds.Select(r => r.Groups["ms"].Value))} ms");
                if (rep == 0) continue; // warm-up: the code shipped to the VMs, compiled, the files' blocks allocated once
                foreach (var round in rounds)
                {
                    took.Add(double.Parse(round.Groups["ms"].Value, CultureInfo.InvariantCulture));
                    written.Add(WriteRound(baseline, Vrs, long.Parse(round.Groups["bytes"].Value, CultureInfo.InvariantCulture) / Vrs));
                }
            }
        }
        finally
        {
            Directory.Delete(baseline, recursive: true);
        }
        yield return new Result(Name, $"one round, {Vrs} VRs × 8 MiB: first part taken to the manifest durable", "ms", Stats.Of(took),
            $"FileStream: the same bytes, {Vrs} files + a manifest, fsync + rename each, folder and DIR flushed", Stats.Of(written), Target.RatioAtMost(2));
    }

    /// <summary>
    /// Milliseconds to write a round as one thread would with <see cref="FileStream"/>: <paramref name="files"/> files of
    /// <paramref name="bytes"/> each (temporary file, fsync, rename), then a small manifest (temporary file, rename, fsync),
    /// and the folder and its parent flushed (the same fsyncs and renames a round makes since round 7).
    /// </summary>
    private static double WriteRound(string dir, int files, long bytes)
    {
        var data = new byte[bytes];
        Random.Shared.NextBytes(data);
        var store = new DirectoryCheckpointStore(dir); // for its fsync of a folder, which FileStream cannot open
        var round = Path.Combine(dir, "round");
        if (Directory.Exists(round)) Directory.Delete(round, recursive: true);
        var start = Stopwatch.GetTimestamp();
        Directory.CreateDirectory(round);
        for (var i = 0; i < files; i++) WriteFile(Path.Combine(round, $"{i}.part"), data, renameFirst: false);
        WriteFile(Path.Combine(round, "manifest"), data.AsSpan(0, 1024), renameFirst: true);
        store.Sync("round");
        store.Sync("");
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    /// <summary>A temporary file written and renamed, flushed before the rename (a part) or after it (the manifest, as River does).</summary>
    private static void WriteFile(string path, ReadOnlySpan<byte> data, bool renameFirst)
    {
        using var file = new FileStream(path + ".tmp", FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        file.Write(data);
        if (renameFirst) File.Move(path + ".tmp", path, overwrite: true);
        file.Flush(flushToDisk: true);
        if (!renameFirst) File.Move(path + ".tmp", path, overwrite: true);
    }
}

/// <summary>
/// How soon a checkpointed run computes again after a VM dies: Heat on four VMs checkpoints every 100 steps; once a
/// round is complete one <c>river vm</c> process (holding a worker) is SIGKILLed. Measured: SIGKILL to the home VM's
/// "Recovered from the loss of VM" line (the lost worker restarted elsewhere, every worker released). Target: the
/// failure detector's bound (3 s) + 1 s. Also the home VM's own figure: from declaring the VM gone to that line.
/// </summary>
internal sealed class Recovery : Scenario
{
    private const double TargetMs = 4000;

    public override string Name => "recovery";

    public override IEnumerable<Result> Run(RunSettings s)
    {
        var (toResumed, fromGone) = (new List<double>(), new List<double>());
        for (var rep = 0; rep < s.Pick(2, 5); rep++)
        {
            using var cluster = new HeatCluster(s.Timeout);
            var (total, own) = Once(cluster, s.Timeout);
            s.Log($"  SIGKILL to resumed: {total:0} ms (gone to resumed: {own:0} ms)");
            toResumed.Add(total);
            fromGone.Add(own);
        }
        yield return new Result(Name, "SIGKILL of a VM process to the run resumed (Heat, 4 VMs)", "ms", Stats.Of(toResumed),
            "target", new Stats(TargetMs, TargetMs, TargetMs), Target.ValueBelow(TargetMs, "ms"));
        yield return new Result(Name, "the VM declared gone to the run resumed (the home VM's log)", "ms", Stats.Of(fromGone), "none", Stats.None);
    }

    private static (double Total, double Own) Once(HeatCluster cluster, TimeSpan timeout)
    {
        var victim = cluster.Vms[1];
        var id = victim.WaitFor(RiverCluster.Listening, timeout).Groups["id"].Value;
        using var heat = cluster.Start(null, "--cells", "40000", "--steps", "1000000", "--checkpoint-every", "100", "--checkpoint-dir", cluster.CheckpointDir);
        // Any round's manifest: an early one may be pruned before a poll sees it.
        var manifest = Path.GetFileName(CheckpointCoordinator.ManifestName(1));
        Measure.Until(() =>
        {
            heat.CheckAlive();
            return Directory.EnumerateFiles(cluster.CheckpointDir, manifest, SearchOption.AllDirectories).Any();
        }, timeout, "a complete checkpoint round");
        Thread.Sleep(500);
        var killed = Stopwatch.GetTimestamp();
        victim.Signal(ChildProcess.Sigkill);
        var recovered = new Regex($@"Recovered from the loss of VM {id} in (?<ms>\d+) ms");
        var own = double.Parse(heat.WaitFor(recovered, timeout).Groups["ms"].Value, CultureInfo.InvariantCulture);
        var at = heat.Lines().First(l => recovered.IsMatch(l.Text)).At;
        return (Stopwatch.GetElapsedTime(killed, at).TotalMilliseconds, own);
    }
}

/// <summary>
/// What numbering and logging cost every packet of a checkpointed run, apart from its rounds: a ping-pong between two
/// VMs of a LocalCluster (every packet serialized, routed, numbered, logged and checked against its stream's number) in
/// a run with a checkpoint directory and no round, against the same run without one. Bytes allocated process-wide per
/// packet (a count, which a loaded machine does not blur) and the round trip.
/// </summary>
internal sealed class CheckpointPackets : Scenario
{
    public override string Name => "checkpoint-packets";

    public override IEnumerable<Result> Run(RunSettings s)
    {
        var trips = s.Pick(20_000, 100_000);
        var (with, without) = (new List<(double Bytes, double Micros)>(), new List<(double Bytes, double Micros)>());
        var dir = Directory.CreateTempSubdirectory("river-bench-checkpoint-packets-").FullName;
        try
        {
            for (var rep = 0; rep < s.Pick(3, 5); rep++)
            {
                without.Add(Once(null, trips, s.Timeout));
                with.Add(Once(dir, trips, s.Timeout));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
        s.Log($"  B/packet with: {string.Join(", ", with.Select(x => $"{x.Bytes:0}"))}; without: {string.Join(", ", without.Select(x => $"{x.Bytes:0}"))}");
        yield return new Result(Name, "ping-pong between 2 VMs of a LocalCluster, bytes allocated per packet", "B/packet",
            Stats.Of(with.Select(x => x.Bytes)), "no --checkpoint-dir", Stats.Of(without.Select(x => x.Bytes)));
        yield return new Result(Name, "ping-pong between 2 VMs of a LocalCluster, round trip", "µs",
            Stats.Of(with.Select(x => x.Micros)), "no --checkpoint-dir", Stats.Of(without.Select(x => x.Micros)));
    }

    private static (double Bytes, double Micros) Once(string? dir, int trips, TimeSpan timeout)
    {
        var cluster = new LocalCluster(2);
        try
        {
            string[] args = [$"{trips}"];
            var run = dir is null ? cluster.Vms[0].RunAsync<CheckpointedPingPong>(args) : CheckpointedRun.RunAsync(cluster.Vms[0], typeof(CheckpointedPingPong), args, dir, restart: false);
            if (!run.Wait(timeout)) throw new TimeoutException($"the ping-pong did not end within {timeout}");
            return CheckpointedPingPong.Last;
        }
        finally
        {
            cluster.DisposeAsync().AsTask().Wait(timeout);
        }
    }
}

/// <summary>The initiator pings a worker on the other VM and waits for each pong; neither ever checkpoints.</summary>
public sealed class CheckpointedPingPong : VirtualResource
{
    internal static (double Bytes, double Micros) Last;

    protected override void Main()
    {
        if (Parent is not null)
        {
            for (var p = Recv(); p.Get<string>("tag") == "ping"; p = Recv()) Send(Parent.Value, new { tag = "pong", i = p.Get<int>("i"), value = 1.5 });
            return;
        }
        var trips = int.Parse(Args[0]);
        var peer = Deploy<CheckpointedPingPong>(Discover().Skip(1).Take(1).ToList())[0];
        Trips(peer, trips / 10); // warm-up: code compiled, buffers grown
        var bytes = GC.GetTotalAllocatedBytes(precise: true);
        var start = Stopwatch.GetTimestamp();
        Trips(peer, trips);
        Last = ((GC.GetTotalAllocatedBytes(precise: true) - bytes) / (2.0 * trips), Stopwatch.GetElapsedTime(start).TotalMicroseconds / trips);
        Send(peer, new { tag = "stop" });
    }

    private void Trips(VrId peer, int count)
    {
        for (var i = 0; i < count; i++)
        {
            Send(peer, new { tag = "ping", i, value = 1.5 });
            Recv(new { tag = "pong", i });
        }
    }
}

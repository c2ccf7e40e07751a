using River.Bench.Remote;
using River.Bench.Vrs;

namespace River.Bench.Scenarios;

/// <summary>
/// 8-byte ping-pong between two ranks in two processes: River.Mpi against Open MPI over TCP, and against
/// River's own Send/Recv between the same two VRs (what the MPI layer adds).
/// </summary>
internal sealed class MpiPingPong : Scenario
{
    public override string Name => "mpi-pingpong";

    public override IEnumerable<Result> Run(RunSettings s)
    {
        string[] args = ["8", $"{s.Pick(2_000, 10_000)}", $"{s.Pick(3, 5)}"];
        var openMpi = OpenMpi.TryBuild(s);
        List<double> mpi = [], river = [];
        using (var cluster = new MpiCluster(s, 2))
        {
            // Alternating rounds, so a burst of load on the shared machine hits both alike.
            for (var round = 0; round < s.Pick(2, 3); round++)
            {
                mpi.AddRange(cluster.Run(2, ["pingpong", .. args]));
                river.AddRange(cluster.Run(2, ["river-pingpong", .. args]));
            }
        }
        yield return new Result(Name, "round trip 8 B, median", "µs", Stats.Of(mpi), "river (VR Send/Recv)", Stats.Of(river), Target.RatioAtMost(1.2));
        if (openMpi is not null)
            yield return new Result(Name, "round trip 8 B, median", "µs", Stats.Of(mpi), OpenMpi.Name, Stats.Of(openMpi.Run(2, ["pingpong", .. args])), Target.RatioAtMost(2));
    }
}

/// <summary>Allreduce of one double, on 2 and 4 ranks (one process each): River.Mpi against Open MPI over TCP.</summary>
internal sealed class MpiAllreduce : Scenario
{
    public override string Name => "mpi-allreduce";

    public override IEnumerable<Result> Run(RunSettings s)
    {
        string[] args = [$"{s.Pick(1_000, 5_000)}", $"{s.Pick(5, 11)}"];
        var openMpi = OpenMpi.TryBuild(s);
        foreach (var ranks in new[] { 2, 4 })
        {
            IReadOnlyList<double> mpi;
            using (var cluster = new MpiCluster(s, ranks)) mpi = cluster.Run(ranks, ["allreduce", .. args]);
            var baseline = openMpi?.Run(ranks, ["allreduce", .. args]);
            yield return new Result(Name, $"allreduce 1 double, {ranks} ranks", "µs", Stats.Of(mpi), openMpi is null ? "none (Open MPI absent)" : OpenMpi.Name,
                baseline is null ? Stats.None : Stats.Of(baseline), Target.RatioAtMost(3));
        }
    }
}

/// <summary>
/// 1 MiB messages one way between two ranks in two processes (River.Mpi sends double[]s), in osu_bw's shape (windows of
/// 64 non-blocking sends and receives into one buffer, an acknowledgement per window): against Open MPI over TCP.
/// </summary>
internal sealed class MpiBandwidth : Scenario
{
    public override string Name => "mpi-bandwidth";

    public override IEnumerable<Result> Run(RunSettings s)
    {
        string[] args = [$"{1 << 20}", $"{s.Pick(1, 4) * MpiBench.Window}", $"{s.Pick(5, 9)}"];
        var openMpi = OpenMpi.TryBuild(s);
        IReadOnlyList<double> mpi;
        using (var cluster = new MpiCluster(s, 2)) mpi = cluster.Run(2, ["bandwidth", .. args]);
        var baseline = openMpi?.Run(2, ["bandwidth", .. args]);
        yield return new Result(Name, "1 MiB messages", "MB/s", Stats.Of(mpi), openMpi is null ? "none (Open MPI absent)" : OpenMpi.Name,
            baseline is null ? Stats.None : Stats.Of(baseline), Target.RatioAtLeast(0.5));
    }
}

/// <summary>NPB EP (class A; W with --quick) on 2 ranks in two processes, against the same C# kernel run sequentially here, divided by 2.</summary>
internal sealed class MpiEp : Scenario
{
    public override string Name => "mpi-ep";

    public override IEnumerable<Result> Run(RunSettings s)
    {
        var (m, label) = s.Pick((25, "W"), (28, "A"));
        var reps = s.Pick(1, 2);
        var sequential = new double[reps];
        var parallel = new double[reps];
        using var cluster = new MpiCluster(s, 2);
        for (var rep = 0; rep < reps; rep++)
        {
            // Alternating, so a burst of load on the shared machine hits both alike.
            sequential[rep] = MpiBench.SequentialEp(m) / 2;
            parallel[rep] = cluster.Run(2, "ep", $"{m}")[0];
        }
        yield return new Result(Name, $"EP class {label}, 2 ranks", "s", Stats.Of(parallel), "sequential / 2", Stats.Of(sequential), Target.RatioAtMost(1.2));
    }
}

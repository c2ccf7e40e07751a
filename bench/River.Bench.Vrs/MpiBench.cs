using System.Diagnostics;
using River.Mpi;

namespace River.Bench.Vrs;

/// <summary>
/// The River.Mpi side of the mpi-* scenarios, the same workloads as the Open MPI baseline (mpi_baseline.c).
/// Rank 0 runs in the bench process and leaves one number per timed rep in <see cref="Samples"/>:
/// <c>pingpong BYTES TRIPS REPS</c> and <c>river-pingpong BYTES TRIPS REPS</c> (the same two VRs with
/// River's own Send/Recv) µs per round trip; <c>bandwidth BYTES COUNT REPS</c> MB/s;
/// <c>allreduce CALLS REPS</c> µs per call; <c>ep M</c> seconds for EP of size 2^M.
/// </summary>
public sealed class MpiBench : MpiProgram
{
    private const int Warmup = 3;
    private const double WarmupSeconds = 6;

    /// <summary>Rank 0's measurements of the last run in this process.</summary>
    public static IReadOnlyList<double> Samples { get; private set; } = [];

    protected override void Run(Communicator world)
    {
        var n = Args.Skip(1).Select(int.Parse).ToArray();
        var samples = Args[0] switch
        {
            "pingpong" => Reps(world, n[2], () => PingPong(world, n[0], n[1]) * 1e6 / n[1]),
            "river-pingpong" => RiverPingPong(world, n[0], n[1], n[2]),
            "bandwidth" => Reps(world, n[2], () => (double)n[0] * n[1] / Bandwidth(world, n[0], n[1]) / 1e6),
            "allreduce" => Reps(world, n[1], () => Allreduce(world, n[0]) * 1e6 / n[0]),
            "ep" => [Ep(world, n[0])],
            _ => throw new ArgumentException($"unknown workload {Args[0]}"),
        };
        if (world.Rank == 0) Samples = samples;
    }

    /// <summary>
    /// Warm-up reps, then <paramref name="reps"/> timed ones, each started together after a barrier. Warm-up lasts at least
    /// <see cref="Warmup"/> reps and <see cref="WarmupSeconds"/> (rank 0's clock, broadcast), as in mpi_baseline.c: three
    /// reps of the bandwidth workload were under a second, and the timed reps overlapped the JIT's tier-up of the hot
    /// path (docs/BENCHMARKS.md, "JIT during the timed phases").
    /// </summary>
    private static double[] Reps(Communicator world, int reps, Func<double> once)
    {
        var start = Stopwatch.GetTimestamp();
        for (var rep = 0; ; rep++)
        {
            var more = rep < Warmup || Stopwatch.GetElapsedTime(start).TotalSeconds < WarmupSeconds;
            world.Broadcast(ref more, 0);
            if (!more) break;
            world.Barrier();
            once();
        }
        var samples = new double[reps];
        for (var rep = 0; rep < reps; rep++)
        {
            world.Barrier();
            samples[rep] = once();
        }
        return samples;
    }

    private static double PingPong(Communicator world, int bytes, int trips)
    {
        var data = new byte[bytes];
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < trips; i++)
        {
            if (world.Rank == 0)
            {
                world.Send(data, 1, 0);
                data = world.Receive<byte[]>(1, 0);
            }
            else if (world.Rank == 1)
            {
                world.Send(world.Receive<byte[]>(0, 0), 0, 0);
            }
        }
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>The same two VRs ping-pong with River's own packets: what the MPI layer adds is the difference.</summary>
    private double[] RiverPingPong(Communicator world, int bytes, int trips, int reps)
    {
        var ids = world.Allgather(Id);
        return Reps(world, reps, () =>
        {
            var data = new byte[bytes];
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < trips; i++)
            {
                if (world.Rank == 0)
                {
                    Send(ids[1], new { tag = "p", data });
                    data = Recv(new { tag = "p" }).Get<byte[]>("data");
                }
                else if (world.Rank == 1)
                {
                    Send(ids[0], new { tag = "p", data = Recv(new { tag = "p" }).Get<byte[]>("data") });
                }
            }
            return clock.Elapsed.TotalSeconds * 1e6 / trips;
        });
    }

    /// <summary>Messages in flight per window of the bandwidth workload, as in osu_bw.</summary>
    public const int Window = 64;

    /// <summary>
    /// osu_bw's shape: rank 0 sends <paramref name="count"/> arrays of <paramref name="bytes"/> (as doubles) to rank 1 in
    /// windows of <see cref="Window"/> non-blocking sends; rank 1 posts a window of receives into one buffer and
    /// acknowledges each window.
    /// </summary>
    private static double Bandwidth(Communicator world, int bytes, int count)
    {
        var data = new double[bytes / sizeof(double)];
        var window = new Request[Window];
        var clock = Stopwatch.StartNew();
        for (var sent = 0; sent < count; sent += Window)
        {
            for (var j = 0; j < Window; j++)
                window[j] = world.Rank == 0 ? world.ImmediateSend(data, 1, 0) : world.ImmediateReceive(0, 0, data);
            Request.WaitAll(window);
            if (world.Rank == 1) world.Send(true, 0, 1);
            else world.Receive<bool>(1, 1);
        }
        return clock.Elapsed.TotalSeconds;
    }

    private static double Allreduce(Communicator world, int calls)
    {
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < calls; i++) world.Allreduce((double)world.Rank, Operation<double>.Add);
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>The same EP kernel on one thread, all batches: the seconds it took.</summary>
    public static double SequentialEp(int m)
    {
        var clock = Stopwatch.StartNew();
        var totals = global::Ep.Run(0, global::Ep.Batches(m));
        if (!global::Ep.Verify(m, totals[0], totals[1])) throw new InvalidOperationException($"the sequential EP of size 2^{m} failed NPB's verification");
        return clock.Elapsed.TotalSeconds;
    }

    private static double Ep(Communicator world, int m)
    {
        world.Barrier();
        var clock = Stopwatch.StartNew();
        var batches = global::Ep.Batches(m);
        long first = batches * world.Rank / world.Size, next = batches * (world.Rank + 1) / world.Size;
        var totals = world.Allreduce(global::Ep.Run(first, next - first), Operation<double>.Add);
        if (world.Rank == 0 && !global::Ep.Verify(m, totals[0], totals[1])) throw new InvalidOperationException($"EP of size 2^{m} failed NPB's verification");
        return clock.Elapsed.TotalSeconds;
    }
}

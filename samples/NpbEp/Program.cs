using River.Mpi;

// NPB EP, `--class S|W|A|B|C` (default S): each rank computes a contiguous share of the batches, one
// Allreduce adds sums and counts, rank 0 checks them against NPB's reference values.
return await MpiApp.RunAsync<NpbEp>(args);

public sealed class NpbEp : MpiProgram
{
    protected override void Run(Communicator world)
    {
        var npbClass = NpbClass.Parse(Args);
        var m = Ep.SizeOf(npbClass);
        var batches = Ep.Batches(m);
        long first = batches * world.Rank / world.Size, next = batches * (world.Rank + 1) / world.Size;
        var started = DateTime.UtcNow;
        var totals = world.Allreduce(Ep.Run(first, next - first), Operation<double>.Add);
        if (world.Rank != 0) return;
        var seconds = (DateTime.UtcNow - started).TotalSeconds;
        var gaussians = totals.Skip(2).Sum();
        Console.WriteLine(" NAS Parallel Benchmarks (River.Mpi) - EP Benchmark");
        Console.WriteLine($" Number of random numbers generated: {2L << m}");
        Console.WriteLine($" Number of ranks: {world.Size}");
        Console.WriteLine($" EP Benchmark Results:");
        Console.WriteLine($" CPU Time = {seconds:F4}");
        Console.WriteLine($" N = 2^{m}");
        Console.WriteLine($" No. Gaussian Pairs = {gaussians:F0}");
        Console.WriteLine($" Sums = {totals[0]:E15} {totals[1]:E15}");
        for (var i = 0; i < Ep.Annuli; i++) Console.WriteLine($" {i} {totals[2 + i]:F0}");
        Console.WriteLine($" Class           =                        {npbClass}");
        Console.WriteLine(NpbClass.Verdict(Ep.Verify(m, totals[0], totals[1])));
    }
}

using River.Mpi;

// Pi by the midpoint rule on 4 / (1 + x²) over [0, 1]: rank r sums intervals r, r + size, ...; one
// Allreduce adds the parts. `--intervals N` (default 10,000,000); `-n N` ranks.
return await MpiApp.RunAsync<MpiPi>(args);

public sealed class MpiPi : MpiProgram
{
    protected override void Run(Communicator world)
    {
        var intervals = Args.Option("--intervals", 10_000_000);
        world.Broadcast(ref intervals, root: 0);
        var h = 1.0 / intervals;
        var part = 0.0;
        for (var i = world.Rank; i < intervals; i += world.Size)
        {
            var x = h * (i + 0.5);
            part += 4.0 / (1.0 + x * x);
        }
        var pi = world.Allreduce(part * h, Operation<double>.Add);
        if (world.Rank == 0)
        {
            Console.WriteLine($"ranks: {world.Size}, intervals: {intervals}");
            Console.WriteLine($"pi = {pi:F12} (error {Math.Abs(pi - Math.PI):E2})");
        }
    }
}

using River.Mpi;

// 1-D heat: `--cells N` cells in one block per rank; each step a rank swaps edge cells with its
// neighbours (tags name the side), then steps its block; rank 0 gathers the rod and checks it.
public sealed class MpiHeat : MpiProgram
{
    private const int ToLeft = 1, ToRight = 2;

    protected override void Run(Communicator world)
    {
        int cells = Args.Option("--cells", 1000), steps = Args.Option("--steps", 500), rank = world.Rank, size = world.Size;
        var initial = Classics.InitialTemperatures(cells);
        var u = initial[Blocks.Of(cells, size, rank)];
        for (var step = 0; step < steps; step++)
        {
            if (rank > 0) world.Send(u[0], rank - 1, ToLeft);
            if (rank < size - 1) world.Send(u[^1], rank + 1, ToRight);
            var left = rank > 0 ? world.Receive<double>(rank - 1, ToRight) : Classics.EdgeTemperature;
            var right = rank < size - 1 ? world.Receive<double>(rank + 1, ToLeft) : Classics.EdgeTemperature;
            u = Classics.HeatStep(u, left, right);
        }
        var rod = world.Gather(u, root: 0);
        if (rank == 0) Classics.PrintHeat(initial, steps, size, [.. rod.SelectMany(b => b)]);
    }
}

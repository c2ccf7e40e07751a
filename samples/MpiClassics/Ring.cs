using River.Mpi;

// Token ring: rank 0 starts a token that every rank passes to the next, `--laps M` times round,
// counting its hops; it comes back to rank 0 with M * size.
public sealed class MpiRing : MpiProgram
{
    protected override void Run(Communicator world)
    {
        var laps = Args.Option("--laps", 3);
        int next = (world.Rank + 1) % world.Size, previous = (world.Rank + world.Size - 1) % world.Size, hops = 0;
        for (var lap = 0; lap < laps; lap++)
        {
            if (world.Rank != 0) hops = world.Receive<int>(previous, tag: 0);
            world.Send(hops + 1, next, tag: 0);
            if (world.Rank == 0) hops = world.Receive<int>(previous, tag: 0);
        }
        if (world.Rank == 0) Console.WriteLine($"token made {laps} laps through {world.Size} VRs, hops = {hops}");
    }
}

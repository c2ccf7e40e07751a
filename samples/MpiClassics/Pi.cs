using River.Mpi;

// Monte Carlo pi: every rank throws `--samples N` darts seeded with its rank; one Reduce adds the hits.
public sealed class MpiPiMonteCarlo : MpiProgram
{
    protected override void Run(Communicator world)
    {
        var samples = Args.Option("--samples", 1_000_000);
        var hits = world.Reduce(Classics.CountHits(samples, seed: world.Rank), (a, b) => a + b, root: 0);
        if (world.Rank == 0) Classics.PrintPi(hits, samples, world.Size);
    }
}

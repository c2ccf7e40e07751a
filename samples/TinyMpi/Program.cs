using River;

// The tiny MPI of docs/tutorial-build-a-runtime.md at work: a ring, a broadcast and a reduction.
return await RiverApp.RunAsync<TinyMpi>(args);

public sealed class TinyMpi : MpiRank
{
    protected override void Run()
    {
        // Step 4: a token goes round the ring; each rank adds its number.
        if (Rank == 0)
        {
            Send(0, 1 % Size, 7);
            Console.WriteLine($"ring: the token came back as {Receive<int>(Size - 1, 7)} (the ranks sum to {Size * (Size - 1) / 2})");
        }
        else Send(Receive<int>(Rank - 1, 7) + Rank, (Rank + 1) % Size, 7);

        // Rank 0 chooses the number of steps; every rank integrates its share of 4 / (1 + x²) over [0, 1].
        var steps = Rank == 0 ? 1_000_000 : 0;
        Broadcast(ref steps, 0);
        double h = 1.0 / steps, sum = 0;
        for (var i = Rank; i < steps; i += Size) sum += 4 / (1 + Math.Pow(h * (i + 0.5), 2));
        var pi = Reduce(sum * h, (a, b) => a + b, 0);
        var highest = Allreduce(Rank, Math.Max);
        Barrier();
        if (Rank == 0) Console.WriteLine($"pi = {pi:F10} from {Size} ranks (highest rank {highest})");
    }
}

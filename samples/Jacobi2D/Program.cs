using River.Mpi;

// Jacobi relaxation of Laplace's equation on an N×N grid (`--size N`, default 96; `--steps K`, default
// 200) whose top edge is held at 1. Rows are split into blocks, one per rank; each step a rank swaps its
// edge rows with its neighbours (halo exchange), then updates its own rows. Rank 0 gathers the grid and
// compares it, bit for bit, with the same steps run sequentially.
return await MpiApp.RunAsync<Jacobi2D>(args);

public sealed class Jacobi2D : MpiProgram
{
    private const int Up = 1, Down = 2;

    protected override void Run(Communicator world)
    {
        int n = Args.Option("--size", 96, min: 3), steps = Args.Option("--steps", 200), rank = world.Rank, size = world.Size;
        if (size > n - 2) throw new ArgumentException($"{size} ranks cannot share {n - 2} inner rows.");
        // Inner rows 1..n-2 are split; this rank owns rows [first, last).
        int first = 1 + (n - 2) * rank / size, last = 1 + (n - 2) * (rank + 1) / size;
        // Local rows first-1 .. last: owned rows plus one halo row on each side.
        var u = new double[last - first + 2][];
        for (var i = 0; i < u.Length; i++) u[i] = Initial(first - 1 + i, n);
        for (var step = 0; step < steps; step++)
        {
            if (rank > 0) world.Send(u[1], rank - 1, Up);
            if (rank < size - 1) world.Send(u[^2], rank + 1, Down);
            if (rank > 0) u[0] = world.Receive<double[]>(rank - 1, Down);
            if (rank < size - 1) u[^1] = world.Receive<double[]>(rank + 1, Up);
            u = Sweep(u);
        }
        var blocks = world.Gather(u[1..^1], root: 0);
        if (rank != 0) return;
        double[][] parallel = [Initial(0, n), .. blocks.SelectMany(b => b), Initial(n - 1, n)];
        var sequential = Enumerable.Range(0, n).Select(i => Initial(i, n)).ToArray();
        for (var step = 0; step < steps; step++) sequential = Sweep(sequential);
        var same = parallel.Zip(sequential).All(p => p.First.AsSpan().SequenceEqual(p.Second));
        Console.WriteLine($"ranks: {size}, grid: {n}x{n}, steps: {steps}");
        Console.WriteLine($"checksum: {parallel.Sum(r => r.Sum()):R}");
        Console.WriteLine(same ? "parallel run matches the sequential run bit for bit" : "parallel run DIFFERS from the sequential run");
        if (!same) throw new InvalidOperationException("the parallel grid differs from the sequential one");
    }

    /// <summary>Row <paramref name="row"/> at the start: the top edge at 1, everything else at 0.</summary>
    private static double[] Initial(int row, int n) => row == 0 ? Enumerable.Repeat(1.0, n).ToArray() : new double[n];

    /// <summary>One Jacobi step over rows 1..^1 of <paramref name="u"/>; the first and last rows and the side columns stay.</summary>
    private static double[][] Sweep(double[][] u)
    {
        var next = new double[u.Length][];
        next[0] = u[0];
        next[^1] = u[^1];
        for (var i = 1; i < u.Length - 1; i++)
        {
            var row = next[i] = (double[])u[i].Clone();
            for (var j = 1; j < row.Length - 1; j++) row[j] = 0.25 * (u[i - 1][j] + u[i + 1][j] + u[i][j - 1] + u[i][j + 1]);
        }
        return next;
    }
}

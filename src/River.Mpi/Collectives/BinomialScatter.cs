namespace River.Mpi;

/// <summary>Binomial-tree scatter: the root's block is halved down the tree, each rank keeping the first value of what it gets; log2 p rounds.</summary>
internal static class BinomialScatter
{
    public static T Run<T>(Communicator comm, T[] values, int root)
    {
        int n = comm.Size, vrank = (comm.Rank - root + n) % n, mask = 1;
        T[] block; // the values for ranks vrank, vrank + 1, ... relative to the root
        if (vrank == 0)
        {
            if (values is null || values.Length != n)
                throw new ArgumentException($"Scatter's root passes one value per rank ({n}), not {values?.Length.ToString() ?? "null"}.", nameof(values));
            block = new T[n];
            for (var i = 0; i < n; i++) block[i] = values[(i + root) % n];
            while (mask < n) mask <<= 1;
        }
        else
        {
            while ((vrank & mask) == 0) mask <<= 1;
            block = comm.Take<T[]>((vrank - mask + root) % n);
        }
        for (mask >>= 1; mask > 0; mask >>= 1)
            if (vrank + mask < n) comm.Put((vrank + mask + root) % n, block[mask..Math.Min(block.Length, 2 * mask)]);
        return block[0];
    }
}

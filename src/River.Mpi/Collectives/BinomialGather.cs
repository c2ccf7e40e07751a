namespace River.Mpi;

/// <summary>Binomial-tree gather: each rank collects its subtree's values (children 2^k away, in rank order) and hands the block to its parent; log2 p rounds.</summary>
internal static class BinomialGather
{
    /// <summary>Every rank's value, in rank order, at the root; null elsewhere.</summary>
    public static T[]? Run<T>(Communicator comm, T value, int root)
    {
        int n = comm.Size, vrank = (comm.Rank - root + n) % n;
        var block = new List<T> { value }; // the values of ranks vrank, vrank + 1, ... relative to the root
        for (var mask = 1; mask < n; mask <<= 1)
        {
            if ((vrank & mask) != 0)
            {
                comm.Put((vrank - mask + root) % n, block.ToArray());
                return null;
            }
            if (vrank + mask < n) block.AddRange(comm.Take<T[]>((vrank + mask + root) % n));
        }
        var all = new T[n];
        for (var i = 0; i < n; i++) all[(i + root) % n] = block[i];
        return all;
    }
}

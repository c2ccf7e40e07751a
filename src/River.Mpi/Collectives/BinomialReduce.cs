namespace River.Mpi;

/// <summary>
/// Binomial-tree reduce: each rank folds in its children's partial results (children 2^k away, smallest first)
/// and hands its own to its parent; the root ends with the whole. Relative to the root, ranks combine in order.
/// </summary>
internal static class BinomialReduce
{
    /// <summary>Reduces <paramref name="values"/> (not changed) into the root's result; null at every other rank.</summary>
    public static T[]? Run<T>(Communicator comm, T[] values, Func<T, T, T> op, int root)
    {
        var reduction = new Reduction<T>(comm, op);
        int n = comm.Size, vrank = (comm.Rank - root + n) % n;
        var acc = (T[])values.Clone();
        for (var mask = 1; mask < n; mask <<= 1)
        {
            if ((vrank & mask) != 0)
            {
                comm.Put((vrank - mask + root) % n, acc);
                return null;
            }
            if (vrank + mask < n) reduction.Combine(acc, comm.Take<T[]>((vrank + mask + root) % n), otherIsLower: false);
        }
        return acc;
    }
}

namespace River.Mpi;

/// <summary>Binomial-tree broadcast: a rank gets the value from its parent, then passes it to children 2^k away, largest subtree first; log2 p rounds.</summary>
internal static class BinomialBroadcast
{
    public static T Run<T>(Communicator comm, T value, int root)
    {
        int n = comm.Size, vrank = (comm.Rank - root + n) % n, mask = 1;
        for (; mask < n; mask <<= 1)
        {
            if ((vrank & mask) == 0) continue;
            value = comm.Take<T>((vrank - mask + root) % n);
            break;
        }
        for (mask >>= 1; mask > 0; mask >>= 1)
            if (vrank + mask < n) comm.Put((vrank + mask + root) % n, value);
        return value;
    }
}

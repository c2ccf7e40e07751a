namespace River.Mpi;

/// <summary>Ring allgather: p − 1 steps, each passing the value last received on to the right; every value crosses each link once, best for big values.</summary>
internal static class RingAllgather
{
    public static T[] Run<T>(Communicator comm, T value)
    {
        int n = comm.Size, r = comm.Rank;
        var all = new T[n];
        all[r] = value;
        for (var i = 0; i < n - 1; i++)
        {
            comm.Put((r + 1) % n, all[(r - i + n) % n]);
            all[(r - i - 1 + n) % n] = comm.Take<T>((r - 1 + n) % n);
        }
        return all;
    }
}

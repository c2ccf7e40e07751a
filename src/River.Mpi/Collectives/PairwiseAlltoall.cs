namespace River.Mpi;

/// <summary>Pairwise exchange: in step k each rank sends to rank + k and receives from rank − k; p − 1 steps, one message each, no rank a hot spot.</summary>
internal static class PairwiseAlltoall
{
    public static T[] Run<T>(Communicator comm, T[] values)
    {
        int n = comm.Size, r = comm.Rank;
        if (values is null || values.Length != n)
            throw new ArgumentException($"Alltoall takes one value per rank ({n}), not {values?.Length.ToString() ?? "null"}.", nameof(values));
        var got = new T[n];
        got[r] = values[r];
        for (var k = 1; k < n; k++)
        {
            comm.Put((r + k) % n, values[(r + k) % n]);
            got[(r - k + n) % n] = comm.Take<T>((r - k + n) % n);
        }
        return got;
    }
}

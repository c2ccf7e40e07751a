namespace River.Mpi;

/// <summary>
/// Bruck's allgather: a rank holds the values of ranks r, r+1, ... and in round k sends the first 2^k of them
/// to rank r − 2^k while it gets as many from rank r + 2^k; ⌈log2 p⌉ rounds for any p, best for small values.
/// </summary>
internal static class BruckAllgather
{
    public static T[] Run<T>(Communicator comm, T value)
    {
        int n = comm.Size, r = comm.Rank;
        var held = new T[n]; // held[i] is rank (r + i) % n's value
        held[0] = value;
        for (var k = 1; k < n; k <<= 1)
        {
            var count = Math.Min(k, n - k);
            comm.Put((r - k + n) % n, held[..count]);
            var got = comm.Take<T[]>((r + k) % n);
            Array.Copy(got, 0, held, k, count);
        }
        var all = new T[n];
        for (var i = 0; i < n; i++) all[(r + i) % n] = held[i];
        return all;
    }
}

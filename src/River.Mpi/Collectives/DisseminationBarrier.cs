namespace River.Mpi;

/// <summary>Dissemination barrier (Hensgen, Finkel, Manber): in round k each rank signals rank + 2^k and waits for rank − 2^k; ⌈log2 p⌉ rounds, any p.</summary>
internal static class DisseminationBarrier
{
    public static void Run(Communicator comm)
    {
        int n = comm.Size, r = comm.Rank;
        for (var k = 1; k < n; k <<= 1)
        {
            comm.Put((r + k) % n, true);
            comm.Take<bool>((r - k + n) % n);
        }
    }
}

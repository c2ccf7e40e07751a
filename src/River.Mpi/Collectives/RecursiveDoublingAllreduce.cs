namespace River.Mpi;

/// <summary>Recursive doubling: in round k each rank swaps its whole vector with the rank 2^k away and combines; log2 p rounds, best for short vectors.</summary>
internal static class RecursiveDoublingAllreduce
{
    public static T[] Run<T>(Communicator comm, T[] values, Func<T, T, T> op) =>
        new Reduction<T>(comm, op).OnPowerOfTwo(values, (reduction, acc, me) =>
        {
            for (var mask = 1; mask < reduction.Pof2; mask <<= 1)
            {
                var peer = reduction.RankOf(me ^ mask);
                comm.Put(peer, acc);
                reduction.Combine(acc, comm.Take<T[]>(peer), otherIsLower: peer < comm.Rank);
            }
        });
}

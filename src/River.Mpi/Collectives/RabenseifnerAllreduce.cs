namespace River.Mpi;

/// <summary>
/// Rabenseifner's allreduce: a reduce-scatter by recursive halving (each round swaps half of what is left with
/// the rank 2^k away, so each rank ends owning one reduced piece), then an allgather by recursive doubling
/// (the pieces travel back). Each rank sends about 2n elements in all instead of n·log2 p: best for long vectors.
/// </summary>
internal static class RabenseifnerAllreduce
{
    public static T[] Run<T>(Communicator comm, T[] values, Func<T, T, T> op) =>
        new Reduction<T>(comm, op).OnPowerOfTwo(values, (reduction, acc, me) => ScatterThenGather(comm, reduction, acc, me));

    private static void ScatterThenGather<T>(Communicator comm, Reduction<T> reduction, T[] acc, int me)
    {
        var pof2 = reduction.Pof2;
        // Piece i of the vector ends reduced at survivor i: pieces differ in length by at most one.
        var starts = new int[pof2 + 1];
        for (var i = 0; i < pof2; i++) starts[i + 1] = starts[i] + acc.Length / pof2 + (i < acc.Length % pof2 ? 1 : 0);
        int sendIdx = 0, recvIdx = 0, lastIdx = pof2, mask = 1;
        for (; mask < pof2; mask <<= 1)
        {
            int other = me ^ mask, peer = reduction.RankOf(other), half = pof2 / (mask * 2);
            if (me < other)
            {
                sendIdx = recvIdx + half;
                Swap(comm, peer, acc, starts, (sendIdx, lastIdx), (recvIdx, sendIdx), reduction, combine: true);
            }
            else
            {
                recvIdx = sendIdx + half;
                Swap(comm, peer, acc, starts, (sendIdx, recvIdx), (recvIdx, lastIdx), reduction, combine: true);
            }
            sendIdx = recvIdx;
            if (mask * 2 < pof2) lastIdx = recvIdx + pof2 / (mask * 2);
        }
        for (mask >>= 1; mask > 0; mask >>= 1)
        {
            int other = me ^ mask, peer = reduction.RankOf(other), half = pof2 / (mask * 2);
            if (me < other)
            {
                if (mask != pof2 / 2) lastIdx += half;
                recvIdx = sendIdx + half;
                Swap(comm, peer, acc, starts, (sendIdx, recvIdx), (recvIdx, lastIdx), reduction, combine: false);
            }
            else
            {
                recvIdx = sendIdx - half;
                Swap(comm, peer, acc, starts, (sendIdx, lastIdx), (recvIdx, sendIdx), reduction, combine: false);
                sendIdx = recvIdx;
            }
        }
    }

    /// <summary>Sends pieces [send.From, send.To) to <paramref name="peer"/>, receives pieces [receive.From, receive.To) and combines or copies them in.</summary>
    private static void Swap<T>(Communicator comm, int peer, T[] acc, int[] starts, (int From, int To) send, (int From, int To) receive, Reduction<T> reduction, bool combine)
    {
        comm.Put(peer, acc[starts[send.From]..starts[send.To]]);
        var got = comm.Take<T[]>(peer);
        var into = acc.AsSpan(starts[receive.From], starts[receive.To] - starts[receive.From]);
        if (combine) reduction.Combine(into, got, otherIsLower: peer < comm.Rank);
        else if (got.Length == into.Length) got.CopyTo(into);
        else throw new InvalidOperationException($"An allreduce got {got.Length} elements where it expected {into.Length}: every rank must pass arrays of one length.");
    }
}

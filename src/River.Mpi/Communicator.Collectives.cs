namespace River.Mpi;

// The collectives: every rank of the communicator calls the same ones in the same order. Each algorithm is
// a file of its own under Collectives/; Decision picks among them by size and rank count.
public sealed partial class Communicator
{
    /// <summary>Returns once every rank has called it (dissemination barrier).</summary>
    public void Barrier()
    {
        if (Size > 1) DisseminationBarrier.Run(this);
    }

    /// <summary>Sets <paramref name="value"/> at every rank to the root's (binomial tree); what other ranks pass is ignored.</summary>
    public void Broadcast<T>(ref T value, int root)
    {
        CheckRank(root, allowAny: false);
        if (Size > 1) value = BinomialBroadcast.Run(this, value, root);
    }

    /// <summary>Combines every rank's value with <paramref name="op"/> (binomial tree); the result at the root, <c>default</c> elsewhere.</summary>
    public T Reduce<T>(T value, Func<T, T, T> op, int root)
    {
        var result = Reduce([value], op, root);
        return result is null ? default! : result[0];
    }

    /// <summary>Combines every rank's array element by element (binomial tree); the result at the root, null elsewhere. <paramref name="values"/> is not changed.</summary>
    public T[] Reduce<T>(T[] values, Func<T, T, T> op, int root)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(op);
        CheckRank(root, allowAny: false);
        return BinomialReduce.Run(this, values, op, root)!;
    }

    /// <summary>Combines every rank's value with <paramref name="op"/>; every rank gets the result (recursive doubling).</summary>
    public T Allreduce<T>(T value, Func<T, T, T> op) => Allreduce([value], op)[0];

    /// <summary>
    /// Combines every rank's array element by element; every rank gets the result: recursive doubling for
    /// short arrays, Rabenseifner's reduce-scatter and allgather for long ones. <paramref name="values"/> is not changed.
    /// </summary>
    public T[] Allreduce<T>(T[] values, Func<T, T, T> op)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(op);
        return Decision.UseRabenseifner(Size, values.Length, Decision.ElementBytes<T>())
            ? RabenseifnerAllreduce.Run(this, values, op)
            : RecursiveDoublingAllreduce.Run(this, values, op);
    }

    /// <summary>Every rank's value, in rank order, at the root (binomial tree); null elsewhere.</summary>
    public T[] Gather<T>(T value, int root)
    {
        CheckRank(root, allowAny: false);
        return BinomialGather.Run(this, value, root)!;
    }

    /// <summary>Every rank's value, in rank order, at every rank: Bruck's algorithm for small values, a ring for big ones.</summary>
    public T[] Allgather<T>(T value) =>
        Decision.UseRing(Size, Decision.BytesOf(value)) ? RingAllgather.Run(this, value) : BruckAllgather.Run(this, value);

    /// <summary>Rank i gets the root's <c>values[i]</c> (binomial tree); what other ranks pass is ignored.</summary>
    public T Scatter<T>(T[] values, int root)
    {
        CheckRank(root, allowAny: false);
        return BinomialScatter.Run(this, values, root);
    }

    /// <summary>Rank i sends <c>values[j]</c> to rank j and gets rank j's <c>values[i]</c> as <c>result[j]</c> (pairwise exchange).</summary>
    public T[] Alltoall<T>(T[] values) => PairwiseAlltoall.Run(this, values);
}

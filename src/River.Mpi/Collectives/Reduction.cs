namespace River.Mpi;

/// <summary>
/// Element-by-element reduction, and the fold that lets power-of-two algorithms run on any rank count:
/// of the first 2·rem ranks (rem = size − the largest power of two), each even one hands its vector to the
/// odd one after it and sits out; the survivors renumber 0..pof2−1 and get the result back at the end.
/// </summary>
internal readonly struct Reduction<T>(Communicator comm, Func<T, T, T> op)
{
    public readonly int Pof2 = Decision.LargestPowerOfTwo(comm.Size);

    private int Rem => comm.Size - Pof2;

    /// <summary>This rank's number among the survivors of the fold; −1 when it sits out.</summary>
    public int NewRank => comm.Rank < 2 * Rem ? (comm.Rank % 2 == 0 ? -1 : comm.Rank / 2) : comm.Rank - Rem;

    /// <summary>The real rank of survivor <paramref name="newRank"/>.</summary>
    public int RankOf(int newRank) => newRank < Rem ? newRank * 2 + 1 : newRank + Rem;

    /// <summary><paramref name="into"/>[i] = op(lower rank's value, higher rank's value), so every rank computes the same bits.</summary>
    public void Combine(Span<T> into, ReadOnlySpan<T> other, bool otherIsLower)
    {
        if (other.Length != into.Length)
            throw new InvalidOperationException($"A reduction got {other.Length} elements where it holds {into.Length}: every rank must pass arrays of one length.");
        for (var i = 0; i < into.Length; i++) into[i] = otherIsLower ? op(other[i], into[i]) : op(into[i], other[i]);
    }

    /// <summary>
    /// Runs a power-of-two algorithm on any rank count: folds <paramref name="values"/> (not changed) into the
    /// survivors, runs <paramref name="survivors"/>(this, their vector, their new rank) there, and hands the
    /// result back to the ranks that sat out.
    /// </summary>
    public T[] OnPowerOfTwo(T[] values, Action<Reduction<T>, T[], int> survivors)
    {
        var acc = (T[])values.Clone();
        FoldIn(acc);
        if (NewRank is >= 0 and var me) survivors(this, acc, me);
        return FoldOut(acc);
    }

    /// <summary>The first step of the fold: even ranks below 2·rem give their vector away.</summary>
    private void FoldIn(T[] acc)
    {
        if (comm.Rank >= 2 * Rem) return;
        if (comm.Rank % 2 == 0) comm.Put(comm.Rank + 1, acc);
        else Combine(acc, comm.Take<T[]>(comm.Rank - 1), otherIsLower: true);
    }

    /// <summary>The last step: the ranks that sat out get the result.</summary>
    private T[] FoldOut(T[] acc)
    {
        if (comm.Rank >= 2 * Rem) return acc;
        if (comm.Rank % 2 == 1)
        {
            comm.Put(comm.Rank - 1, acc);
            return acc;
        }
        return comm.Take<T[]>(comm.Rank + 1);
    }
}

using System.Numerics;
using System.Runtime.CompilerServices;

namespace River.Mpi;

/// <summary>
/// Which algorithm a collective uses, by message size and rank count, as Open MPI's tuned collectives decide:
/// latency-bound messages take the fewest rounds, bandwidth-bound ones move each byte as few times as possible.
/// </summary>
internal static class Decision
{
    /// <summary>Below this many bytes an Allreduce is latency-bound: recursive doubling (log p rounds, whole vectors).</summary>
    public const long AllreduceSmallBytes = 16 * 1024;

    /// <summary>Below this many bytes gathered in all an Allgather is latency-bound: Bruck (log p rounds).</summary>
    public const long AllgatherSmallBytes = 64 * 1024;

    /// <summary>Rabenseifner (reduce-scatter, then allgather) moves 2 n bytes instead of n log p, once every rank has a piece.</summary>
    public static bool UseRabenseifner(int ranks, int count, int elementBytes) =>
        ranks > 1 && count >= LargestPowerOfTwo(ranks) && (long)count * elementBytes >= AllreduceSmallBytes;

    /// <summary>The ring moves each block once per hop, best when blocks are big; Bruck needs only log p rounds.</summary>
    public static bool UseRing(int ranks, long bytesPerRank) => ranks * bytesPerRank >= AllgatherSmallBytes;

    /// <summary>What a value weighs on the wire, roughly: arrays of primitives exactly, anything else by its in-memory size.</summary>
    public static long BytesOf<T>(T value) => value is Array { Rank: 1 } a && a.GetType().GetElementType()!.IsPrimitive
        ? Buffer.ByteLength(a)
        : Unsafe.SizeOf<T>();

    public static int ElementBytes<T>() => Unsafe.SizeOf<T>();

    public static int LargestPowerOfTwo(int n) => 1 << BitOperations.Log2((uint)n);
}

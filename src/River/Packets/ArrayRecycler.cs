namespace River;

/// <summary>
/// Arrays of big received values (a <c>byte[]</c>, <c>double[]</c>, ...) that their VRs gave back (<see cref="Packet.Recycle"/>),
/// kept by type and exact length for the next value of that type and length: a stream of same-sized values then allocates
/// nothing per packet. Only a type and length that came before are ever handed out, so a frame that lies about its size
/// reserves nothing here.
/// </summary>
internal static class ArrayRecycler
{
    // Enough for a stream's window of big values; what is over this is left to the garbage collector.
    private const long MaxBytes = 32L << 20;
    private const int MaxPerLength = 16;

    private static readonly Lock Gate = new();
    private static readonly Dictionary<(Type, int), Stack<Array>> Kept = [];
    private static long s_bytes;

    /// <summary>An array of <paramref name="arrayType"/> and exactly <paramref name="bytes"/> bytes given back earlier, or null.</summary>
    public static Array? TryTake(Type arrayType, int bytes)
    {
        lock (Gate)
        {
            if (s_bytes == 0 || !Kept.TryGetValue((arrayType, bytes), out var arrays)) return null;
            var array = arrays.Pop();
            if (arrays.Count == 0) Kept.Remove((arrayType, bytes)); // no empty entries: at most one per array kept
            s_bytes -= bytes;
            return array;
        }
    }

    /// <summary>Keeps <paramref name="array"/> (an array of numbers) for a later value of its type and length, if there is room.</summary>
    public static void Give(Array array)
    {
        var bytes = (int)Buffer.ByteLength(array);
        var key = (array.GetType(), bytes);
        lock (Gate)
        {
            if (s_bytes + bytes > MaxBytes) return;
            if (!Kept.TryGetValue(key, out var arrays)) Kept[key] = arrays = new Stack<Array>();
            if (arrays.Count >= MaxPerLength) return;
            arrays.Push(array);
            s_bytes += bytes;
        }
    }
}

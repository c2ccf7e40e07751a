namespace River;

/// <summary>
/// Arrays of big received <c>byte[]</c> values that their VRs gave back (<see cref="Packet.Recycle"/>), kept by exact
/// length for the next value of that length: a stream of same-sized values then allocates nothing per packet.
/// Only a length that came before is ever handed out, so a frame that lies about its size reserves nothing here.
/// </summary>
internal static class ArrayRecycler
{
    // Enough for a stream's window of big values; what is over this is left to the garbage collector.
    private const long MaxBytes = 32L << 20;
    private const int MaxPerLength = 16;

    private static readonly Lock Gate = new();
    private static readonly Dictionary<int, Stack<byte[]>> Kept = [];
    private static long s_bytes;

    /// <summary>An array of exactly <paramref name="length"/> bytes given back earlier, or null.</summary>
    public static byte[]? TryTake(int length)
    {
        lock (Gate)
        {
            if (s_bytes == 0 || !Kept.TryGetValue(length, out var arrays)) return null;
            var array = arrays.Pop();
            if (arrays.Count == 0) Kept.Remove(length); // no empty entries: at most one per array kept
            s_bytes -= length;
            return array;
        }
    }

    /// <summary>Keeps <paramref name="array"/> for a later value of its length, if there is room.</summary>
    public static void Give(byte[] array)
    {
        lock (Gate)
        {
            if (s_bytes + array.Length > MaxBytes) return;
            if (!Kept.TryGetValue(array.Length, out var arrays)) Kept[array.Length] = arrays = new Stack<byte[]>();
            if (arrays.Count >= MaxPerLength) return;
            arrays.Push(array);
            s_bytes += array.Length;
        }
    }
}

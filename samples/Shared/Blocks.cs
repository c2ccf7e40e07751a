/// <summary>Splits work into one contiguous block per worker.</summary>
internal static class Blocks
{
    /// <summary>Block <paramref name="index"/> of <paramref name="count"/> items cut into <paramref name="parts"/> blocks whose sizes differ by at most one.</summary>
    public static Range Of(int count, int parts, int index) =>
        (int)((long)count * index / parts)..(int)((long)count * (index + 1) / parts);
}

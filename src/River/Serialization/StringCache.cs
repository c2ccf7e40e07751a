using System.Text;

namespace River;

/// <summary>
/// Strings read from frames that recur: attribute names (<c>tag</c>, <c>n</c>) and short values such as
/// tags (<c>"result"</c>). A direct-mapped cache from UTF-8 bytes to the string, so a packet does not
/// allocate them again. Lock-free: a slot holds one immutable entry, and a newer string whose bytes
/// hash to the same slot replaces it. Longer strings are decoded every time.
/// </summary>
internal sealed class StringCache
{
    public const int MaxBytes = 32;
    private const int Slots = 1024;

    private readonly Entry?[] _slots = new Entry?[Slots];

    private sealed class Entry(byte[] utf8, string value)
    {
        public readonly byte[] Utf8 = utf8;
        public readonly string Value = value;
    }

    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > MaxBytes) return Encoding.UTF8.GetString(utf8);
        var hash = new HashCode();
        hash.AddBytes(utf8);
        var slot = hash.ToHashCode() & (Slots - 1);
        if (_slots[slot] is { } e && utf8.SequenceEqual(e.Utf8)) return e.Value;
        var value = Encoding.UTF8.GetString(utf8);
        _slots[slot] = new Entry(utf8.ToArray(), value);
        return value;
    }
}

using System.Text;
using MessagePack;

namespace River;

/// <summary>
/// Attribute names read from frames, kept as strings so each packet does not allocate them again:
/// programs use a handful of names (<c>tag</c>, <c>n</c>, <c>value</c>). Lock-free reads over a
/// copy-on-write array; past <see cref="Capacity"/> names new ones are simply not cached.
/// </summary>
internal sealed class NameCache
{
    private const int Capacity = 256;

    private (byte[] Utf8, string Name)[] _names = [];

    /// <summary>Reads the MessagePack str at <paramref name="pos"/> as a name and moves past it.</summary>
    public string Read(ReadOnlySpan<byte> s, ref int pos)
    {
        if (!WireSpan.TryReadStringBytes(s, ref pos, out var span))
            throw new MessagePackSerializationException($"An attribute name at offset {pos} is not a string.");
        foreach (var (utf8, name) in _names)
            if (span.SequenceEqual(utf8)) return name;
        var added = Encoding.UTF8.GetString(span);
        var names = _names;
        if (names.Length < Capacity) _names = [.. names, (span.ToArray(), added)];
        return added;
    }
}

using System.Buffers;
using System.Buffers.Binary;

namespace River;

/// <summary>
/// A mirror group's log entries as they travel in a <see cref="MirrorLog"/> or <see cref="MirrorTail"/>: one byte
/// array of entries, each a kind byte, a 4-byte length and its body: a packet's frame as it arrived, or a recorded
/// outcome (a serialized <see cref="MirrorEntry"/>). Most entries are packets; as records, each cost both sides a map
/// of names written and read by reflection.
/// </summary>
internal static class LogWire
{
    private const byte PacketKind = 0, OutcomeKind = 1;
    private const int HeadLength = 5;

    /// <summary>An entry for a packet, from its frame.</summary>
    public static byte[] Packet(ReadOnlySpan<byte> frame) => Entry(PacketKind, frame);

    /// <summary>An entry for the outcome of a call that depends on timing.</summary>
    public static byte[] Outcome(RiverSerializer serializer, MirrorEntry outcome)
    {
        var body = new ArrayBufferWriter<byte>();
        serializer.WriteValue(body, "outcome", outcome);
        return Entry(OutcomeKind, body.WrittenSpan);
    }

    private static byte[] Entry(byte kind, ReadOnlySpan<byte> body)
    {
        var entry = new byte[HeadLength + body.Length];
        entry[0] = kind;
        BinaryPrimitives.WriteInt32LittleEndian(entry.AsSpan(1), body.Length);
        body.CopyTo(entry.AsSpan(HeadLength));
        return entry;
    }

    /// <summary>The next entry of <paramref name="entries"/> at <paramref name="pos"/>, moving past it; false at the end.</summary>
    public static bool Next(byte[] entries, ref int pos, out ReadOnlyMemory<byte> entry)
    {
        entry = default;
        if (pos == entries.Length) return false;
        if (entries.Length - pos < HeadLength || entries[pos] > OutcomeKind)
            throw new MessagePack.MessagePackSerializationException("a mirror log entry of unknown kind, or cut short");
        var length = BinaryPrimitives.ReadInt32LittleEndian(entries.AsSpan(pos + 1));
        if (length < 0 || length > entries.Length - pos - HeadLength)
            throw new MessagePack.MessagePackSerializationException($"a mirror log entry of {length} bytes where {entries.Length - pos - HeadLength} are left");
        entry = entries.AsMemory(pos, HeadLength + length);
        pos += HeadLength + length;
        return true;
    }

    /// <summary>How many entries <paramref name="entries"/> holds (each checked as <see cref="Next"/> checks it).</summary>
    public static int Count(byte[] entries)
    {
        var count = 0;
        for (var pos = 0; Next(entries, ref pos, out _);) count++;
        return count;
    }

    /// <summary>True when <paramref name="entry"/> is a packet's (its frame in <paramref name="body"/>), false for an outcome.</summary>
    public static bool IsPacket(ReadOnlyMemory<byte> entry, out ReadOnlyMemory<byte> body)
    {
        body = entry[HeadLength..];
        return entry.Span[0] == PacketKind;
    }

    /// <summary>Entries joined into one array for a message.</summary>
    public static byte[] Join(IReadOnlyList<ReadOnlyMemory<byte>> entries)
    {
        var length = 0;
        foreach (var e in entries) length += e.Length;
        var joined = GC.AllocateUninitializedArray<byte>(length); // every byte is written below: tens of KiB a message, not cleared first
        var at = 0;
        foreach (var e in entries)
        {
            e.Span.CopyTo(joined.AsSpan(at));
            at += e.Length;
        }
        return joined;
    }
}

using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text;
using MessagePack;

namespace River;

/// <summary>
/// The MessagePack forms a packet is made of (UUIDs, integers, strings, binaries, doubles), written to
/// and read from spans directly: a small packet costs tens of nanoseconds instead of the hundreds that
/// <see cref="MessagePackReader"/>'s sequence reader spends. The bytes are exactly MessagePack's, so
/// anything these do not cover is read by a <see cref="MessagePackReader"/> placed at the same offset.
/// Reads check every length against the bytes left and throw <see cref="MessagePackSerializationException"/>.
/// </summary>
internal static class WireSpan
{
    private const byte Nil = 0xc0, False = 0xc2, True = 0xc3, Bin8 = 0xc4, Bin16 = 0xc5, Bin32 = 0xc6, Float64 = 0xcb;
    private const byte UInt8 = 0xcc, UInt16 = 0xcd, UInt32 = 0xce, UInt64 = 0xcf, Int8 = 0xd0, Int16 = 0xd1, Int32 = 0xd2, Int64 = 0xd3;
    private const byte FixStr = 0xa0, Str8 = 0xd9, Str16 = 0xda, Str32 = 0xdb;

    public static bool IsNil(ReadOnlySpan<byte> s, int pos) => s[pos] == Nil;

    public static void WriteNil(IBufferWriter<byte> output)
    {
        output.GetSpan(1)[0] = Nil;
        output.Advance(1);
    }

    public static int WriteGuid(Span<byte> s, Guid value)
    {
        s[0] = Bin8;
        s[1] = 16;
        value.TryWriteBytes(s[2..]);
        return 18;
    }

    public static Guid ReadGuid(ReadOnlySpan<byte> s, ref int pos)
    {
        Need(s, pos, 18);
        if (s[pos] != Bin8 || s[pos + 1] != 16) throw new MessagePackSerializationException("A UUID is not 16 bytes of binary.");
        var value = new Guid(s.Slice(pos + 2, 16));
        pos += 18;
        return value;
    }

    /// <summary>Writes an integer in MessagePack's shortest form; returns the bytes written (at most 9).</summary>
    public static int WriteInt(Span<byte> s, long v)
    {
        switch (v)
        {
            case >= 0 and <= 0x7f: s[0] = (byte)v; return 1;
            case >= -32 and < 0: s[0] = (byte)(sbyte)v; return 1;
            case >= 0 and <= byte.MaxValue: s[0] = UInt8; s[1] = (byte)v; return 2;
            case >= 0 and <= ushort.MaxValue: s[0] = UInt16; BinaryPrimitives.WriteUInt16BigEndian(s[1..], (ushort)v); return 3;
            case >= 0 and <= uint.MaxValue: s[0] = UInt32; BinaryPrimitives.WriteUInt32BigEndian(s[1..], (uint)v); return 5;
            case >= sbyte.MinValue and < 0: s[0] = Int8; s[1] = (byte)(sbyte)v; return 2;
            case >= short.MinValue and < 0: s[0] = Int16; BinaryPrimitives.WriteInt16BigEndian(s[1..], (short)v); return 3;
            case >= int.MinValue and < 0: s[0] = Int32; BinaryPrimitives.WriteInt32BigEndian(s[1..], (int)v); return 5;
            case > 0: s[0] = UInt64; BinaryPrimitives.WriteUInt64BigEndian(s[1..], (ulong)v); return 9;
            default: s[0] = Int64; BinaryPrimitives.WriteInt64BigEndian(s[1..], v); return 9;
        }
    }

    /// <summary>Reads an integer in any of MessagePack's forms that fits a <see cref="long"/>.</summary>
    public static long ReadInt(ReadOnlySpan<byte> s, ref int pos)
    {
        Need(s, pos, 1);
        var b = s[pos];
        if (b <= 0x7f || b >= 0xe0)
        {
            pos++;
            return b >= 0xe0 ? (sbyte)b : b;
        }
        var size = b switch { UInt8 or Int8 => 1, UInt16 or Int16 => 2, UInt32 or Int32 => 4, UInt64 or Int64 => 8, _ => 0 };
        if (size == 0) throw new MessagePackSerializationException($"Expected an integer, found the MessagePack code 0x{b:x2}.");
        Need(s, pos, 1 + size);
        var d = s.Slice(pos + 1, size);
        pos += 1 + size;
        return b switch
        {
            UInt8 => d[0],
            UInt16 => BinaryPrimitives.ReadUInt16BigEndian(d),
            UInt32 => BinaryPrimitives.ReadUInt32BigEndian(d),
            UInt64 => BinaryPrimitives.ReadUInt64BigEndian(d) is var u && u <= long.MaxValue
                ? (long)u : throw new MessagePackSerializationException($"The integer {u} does not fit a long."),
            Int8 => (sbyte)d[0],
            Int16 => BinaryPrimitives.ReadInt16BigEndian(d),
            Int32 => BinaryPrimitives.ReadInt32BigEndian(d),
            _ => BinaryPrimitives.ReadInt64BigEndian(d),
        };
    }

    public static int ReadInt32(ReadOnlySpan<byte> s, ref int pos) =>
        ReadInt(s, ref pos) is var v && v is >= int.MinValue and <= int.MaxValue
            ? (int)v : throw new MessagePackSerializationException($"The integer {v} does not fit an int.");

    public static void WriteInt(IBufferWriter<byte> output, long v) => output.Advance(WriteInt(output.GetSpan(9), v));

    /// <summary>Writes a string as MessagePack str, UTF-8 encoded straight into the output.</summary>
    public static void WriteString(IBufferWriter<byte> output, string value)
    {
        if (value.Length <= 31)
        {
            // Names and tags are short and ASCII: one byte per char, no UTF-8 bound to compute.
            var fix = output.GetSpan(1 + value.Length);
            if (Ascii.FromUtf16(value, fix[1..], out var written) == OperationStatus.Done)
            {
                fix[0] = (byte)(FixStr | written);
                output.Advance(1 + written);
                return;
            }
        }
        var max = Encoding.UTF8.GetMaxByteCount(value.Length);
        var header = max <= 31 ? 1 : max <= byte.MaxValue ? 2 : max <= ushort.MaxValue ? 3 : 5;
        var s = output.GetSpan(header + max);
        var n = Encoding.UTF8.GetBytes(value, s[header..]);
        switch (header)
        {
            case 1: s[0] = (byte)(FixStr | n); break;
            case 2: s[0] = Str8; s[1] = (byte)n; break;
            case 3: s[0] = Str16; BinaryPrimitives.WriteUInt16BigEndian(s[1..], (ushort)n); break;
            default: s[0] = Str32; BinaryPrimitives.WriteUInt32BigEndian(s[1..], (uint)n); break;
        }
        output.Advance(header + n);
    }

    /// <summary>The UTF-8 bytes of a MessagePack str at <paramref name="pos"/>, or false (nothing read) when something else is there.</summary>
    public static bool TryReadStringBytes(ReadOnlySpan<byte> s, ref int pos, out ReadOnlySpan<byte> utf8)
    {
        Need(s, pos, 1);
        var b = s[pos];
        int header, length;
        if ((b & 0xe0) == FixStr) (header, length) = (1, b & 0x1f);
        else if (b == Str8) (header, length) = (2, ReadLength(s, pos, 1));
        else if (b == Str16) (header, length) = (3, ReadLength(s, pos, 2));
        else if (b == Str32) (header, length) = (5, ReadLength(s, pos, 4));
        else
        {
            utf8 = default;
            return false;
        }
        Need(s, pos, (long)header + length);
        utf8 = s.Slice(pos + header, length);
        pos += header + length;
        return true;
    }

    public static void WriteBinary(IBufferWriter<byte> output, ReadOnlySpan<byte> value)
    {
        var s = output.GetSpan(5 + value.Length);
        var header = WriteBinaryHeader(s, value.Length);
        value.CopyTo(s[header..]);
        output.Advance(header + value.Length);
    }

    /// <summary>The header of a bin of <paramref name="length"/> bytes (at most 5 bytes); returns its size.</summary>
    public static int WriteBinaryHeader(Span<byte> s, int length)
    {
        if (length <= byte.MaxValue)
        {
            s[0] = Bin8;
            s[1] = (byte)length;
            return 2;
        }
        if (length <= ushort.MaxValue)
        {
            s[0] = Bin16;
            BinaryPrimitives.WriteUInt16BigEndian(s[1..], (ushort)length);
            return 3;
        }
        s[0] = Bin32;
        BinaryPrimitives.WriteUInt32BigEndian(s[1..], (uint)length);
        return 5;
    }

    public static bool TryReadBinary(ReadOnlySpan<byte> s, ref int pos, out ReadOnlySpan<byte> bytes)
    {
        var at = pos;
        if (!TryReadBinaryHeader(s, ref at, out var length))
        {
            bytes = default;
            return false;
        }
        Need(s, at, length);
        bytes = s.Slice(at, length);
        pos = at + length;
        return true;
    }

    /// <summary>The length of a MessagePack bin at <paramref name="pos"/>, moving to its first byte; false (nothing read) for anything else.</summary>
    public static bool TryReadBinaryHeader(ReadOnlySpan<byte> s, ref int pos, out int length)
    {
        Need(s, pos, 1);
        var (header, size) = s[pos] switch { Bin8 => (2, 1), Bin16 => (3, 2), Bin32 => (5, 4), _ => (0, 0) };
        if (header == 0)
        {
            length = 0;
            return false;
        }
        length = ReadLength(s, pos, size);
        pos += header;
        return true;
    }

    public static void WriteDouble(IBufferWriter<byte> output, double value)
    {
        var s = output.GetSpan(9);
        s[0] = Float64;
        BinaryPrimitives.WriteDoubleBigEndian(s[1..], value);
        output.Advance(9);
    }

    public static bool TryReadDouble(ReadOnlySpan<byte> s, ref int pos, out double value)
    {
        Need(s, pos, 1);
        if (s[pos] != Float64)
        {
            value = 0;
            return false;
        }
        Need(s, pos, 9);
        value = BinaryPrimitives.ReadDoubleBigEndian(s.Slice(pos + 1, 8));
        pos += 9;
        return true;
    }

    public static void WriteBool(IBufferWriter<byte> output, bool value)
    {
        output.GetSpan(1)[0] = value ? True : False;
        output.Advance(1);
    }

    public static bool TryReadBool(ReadOnlySpan<byte> s, ref int pos, out bool value)
    {
        Need(s, pos, 1);
        value = s[pos] == True;
        if (!value && s[pos] != False) return false;
        pos++;
        return true;
    }

    private static int ReadLength(ReadOnlySpan<byte> s, int pos, int size)
    {
        Need(s, pos, 1 + size);
        var d = s.Slice(pos + 1, size);
        var length = size switch { 1 => d[0], 2 => BinaryPrimitives.ReadUInt16BigEndian(d), _ => BinaryPrimitives.ReadUInt32BigEndian(d) };
        return length <= int.MaxValue ? (int)length : throw new MessagePackSerializationException($"A length of {length} bytes.");
    }

    // A long: a header plus a length near int.MaxValue must not wrap around to a small count. Inlined on every read, with
    // the message built apart: with it inside, the check was a call of its own, 7 % of a receiving VR's time in a stream.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Need(ReadOnlySpan<byte> s, int pos, long count)
    {
        if (count > s.Length - pos) ThrowShort(s.Length - pos, pos, count);
    }

    [DoesNotReturn]
    private static void ThrowShort(int left, int pos, long count) =>
        throw new MessagePackSerializationException($"The frame ends {count - left} bytes short of the value at offset {pos}.");
}

using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using MessagePack;

namespace River.Tests.Security;

/// <summary>
/// Lengths claimed by a frame near int.MaxValue: a check written as <c>pos + length &gt; size</c> wraps
/// around and lets them through to a slice that throws something other than a refusal.
/// </summary>
public class LengthOverflowTests
{
    // Lengths whose sum with a header or an offset overflows an int.
    private static readonly Gen<uint> HugeLengths = Gen.OneOf(
        Gen.Choose(0, 64).Select(d => (uint)(int.MaxValue - d)),
        Gen.Elements((uint)int.MaxValue + 1, uint.MaxValue));

    private static byte[] Header(byte code, uint length, int padding)
    {
        var bytes = new byte[5 + padding];
        bytes[0] = code;
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(1), length);
        return bytes;
    }

    [Fact]
    public void A_str32_or_bin32_claiming_a_length_near_int_MaxValue_is_refused_not_overflowed()
    {
        Prop.ForAll(HugeLengths.ToArbitrary(), Gen.Choose(0, 40).ToArbitrary(), (length, padding) =>
        {
            var str = Header(0xdb, length, padding);
            var bin = Header(0xc6, length, padding);
            Assert.Throws<MessagePackSerializationException>(() => { var pos = 0; WireSpan.TryReadStringBytes(str, ref pos, out _); });
            Assert.Throws<MessagePackSerializationException>(() => { var pos = 0; WireSpan.TryReadBinary(bin, ref pos, out _); });
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void A_packet_tail_claiming_a_length_near_int_MaxValue_is_not_a_tail()
    {
        Prop.ForAll(HugeLengths.ToArbitrary(), length =>
        {
            // src, dest, one attribute "b" whose value is a byte[] (code 15) with a bin32 header.
            var head = new List<byte>();
            for (var i = 0; i < 2; i++) head.AddRange([0xc4, 16, .. new byte[16]]);
            head.AddRange([1, 0xa1, (byte)'b', 15]);
            head.AddRange(Header(0xc6, length, 0));
            var bodyLength = (int)Math.Min(int.MaxValue, (long)head.Count + length);
            return !RiverSerializer.TryFindTail(head.ToArray(), bodyLength, out _, out _)
                || length <= int.MaxValue - head.Count; // a length that fits is a tail; one that overflows never is
        }).QuickCheckThrowOnFailure();
    }
}

using System.Buffers;
using MessagePack;

namespace River.Tests.Serialization;

/// <summary>
/// A packet's last value, an array of any number type, read apart from its frame (the big-value path) or whole: the
/// same bytes on the wire, the same array back; a head that lies about it is refused with its reason.
/// </summary>
public sealed class TypedTailTests
{
    private static readonly Type[] Elements =
        [typeof(byte), typeof(sbyte), typeof(short), typeof(ushort), typeof(char), typeof(int), typeof(uint), typeof(float), typeof(long), typeof(ulong), typeof(double)];

    /// <summary>Each element type with no elements, one, an odd few, just under, at and just over the split size, and an odd count over 1 MiB.</summary>
    public static TheoryData<Type, int> Cases()
    {
        var data = new TheoryData<Type, int>();
        foreach (var element in Elements)
        {
            var size = Buffer.ByteLength(Array.CreateInstance(element, 1));
            var split = PeerLink.SplitSize / size;
            foreach (var count in new[] { 0, 1, 7, split - 1, split, split + 1, (1 << 20) / size + 3 }) data.Add(element, count);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_last_array_of_numbers_comes_back_the_same_read_apart_or_whole(Type element, int count)
    {
        var serializer = new RiverSerializer();
        var array = Array.CreateInstance(element, count);
        new Random(count).NextBytes(RiverSerializer.BytesOf(array)); // any bit pattern, NaNs included: compared as bytes
        var packet = Packet.From(new { tag = "d", n = 3, data = array }, VrId.New(), VrId.New());
        var whole = Write(w => serializer.WritePacket(w, packet));

        var read = serializer.ReadPacket(whole)["data"];
        Assert.IsType(array.GetType(), read);
        Assert.Equal(RiverSerializer.BytesOf(array).ToArray(), RiverSerializer.BytesOf((Array)read!).ToArray());

        var tail = RiverSerializer.TailOf(packet, PeerLink.SplitSize);
        if (Buffer.ByteLength(array) < PeerLink.SplitSize)
        {
            Assert.Null(tail);
            return;
        }
        Assert.Same(array, tail);
        var head = Write(w => serializer.WritePacket(w, packet, tail));
        Assert.Equal(whole, (byte[])[.. head, .. RiverSerializer.BytesOf(array)]);
        // From the head alone (as the socket delivers it) the receiver learns where the value starts and what it is.
        Assert.True(RiverSerializer.TryFindTail(whole.AsMemory(0, head.Length), whole.Length, out var offset, out var type));
        Assert.Equal((head.Length, array.GetType()), (offset, type));
        var received = RiverSerializer.NewArray(type, whole.Length - offset);
        whole.AsSpan(offset).CopyTo(RiverSerializer.BytesOf(received));
        var back = serializer.ReadPacket(whole.AsMemory(0, offset), tail: received);
        Assert.Same(received, back["data"]);
        Assert.Equal(3, back.Get<int>("n"));
        Assert.Equal(RiverSerializer.BytesOf(array).ToArray(), RiverSerializer.BytesOf(received).ToArray());
    }

    [Fact]
    public void A_head_whose_last_array_is_not_a_whole_number_of_elements_or_of_no_known_type_is_no_tail_and_is_refused_whole()
    {
        var serializer = new RiverSerializer();
        var packet = Packet.From(new { tag = "d", data = new double[10_000] }, VrId.New(), VrId.New());
        var head = Write(w => serializer.WritePacket(w, packet, packet.Get<double[]>("data")));
        var headerAt = head.Length - 6; // the type code, then bin32: 0xc6 and a 4-byte big-endian length

        // A double[] of 80,001 bytes: no tail, and read whole its reason is given.
        byte[] Body(byte code, int length)
        {
            var body = (byte[])[.. head, .. new byte[length]];
            body[headerAt] = code;
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(headerAt + 2), length);
            return body;
        }
        var ragged = Body(head[headerAt], 80_001);
        Assert.False(RiverSerializer.TryFindTail(ragged.AsMemory(0, head.Length), ragged.Length, out _, out _));
        var e = Assert.Throws<MessagePackSerializationException>(() => serializer.ReadPacket(ragged));
        Assert.Equal("A Double[] of 80001 bytes is not a whole number of elements.", e.Message);

        // A code no type has (the codes end at 31, char[]).
        var unknown = Body(32, 80_000);
        Assert.False(RiverSerializer.TryFindTail(unknown.AsMemory(0, head.Length), unknown.Length, out _, out _));
        e = Assert.Throws<MessagePackSerializationException>(() => serializer.ReadPacket(unknown));
        Assert.Equal("Unknown value type code 32.", e.Message);

        // A tail of another type or length than the head says.
        Assert.Throws<MessagePackSerializationException>(() => serializer.ReadPacket(head, tail: new long[10_000]));
        Assert.Throws<MessagePackSerializationException>(() => serializer.ReadPacket(head, tail: new double[9_999]));
    }

    private static byte[] Write(Action<IBufferWriter<byte>> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(buffer);
        return buffer.WrittenSpan.ToArray();
    }
}

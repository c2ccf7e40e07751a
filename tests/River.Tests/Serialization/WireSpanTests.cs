using System.Buffers;
using FsCheck;
using FsCheck.Fluent;
using MessagePack;

namespace River.Tests.Serialization;

/// <summary>The span fast paths write exactly what MessagePack reads, and read every form MessagePack writes.</summary>
public class WireSpanTests
{
    private static byte[] ByMessagePack(Cluster.MalformedInputs.WriteBody body) => Cluster.MalformedInputs.Msgpack(body);

    private static byte[] BySpan(Action<IBufferWriter<byte>> body)
    {
        var buffer = new ArrayBufferWriter<byte>();
        body(buffer);
        return buffer.WrittenSpan.ToArray();
    }

    private static readonly Gen<long> Integers = Gen.OneOf(
        Gen.Choose(-40, 300).Select(i => (long)i),
        ArbMap.Default.GeneratorFor<int>().Select(i => (long)i),
        ArbMap.Default.GeneratorFor<long>(),
        Gen.Elements(long.MinValue, long.MaxValue, int.MinValue, (long)int.MaxValue, uint.MaxValue, ushort.MaxValue + 1L, -32768L, -32769L, -129L));

    [Fact]
    public void Integers_round_trip_both_ways_in_every_form()
    {
        Prop.ForAll(Integers.ToArbitrary(), v =>
        {
            var mine = BySpan(o => WireSpan.WriteInt(o, v));
            var theirs = ByMessagePack((ref w) => w.Write(v));
            var pos = 0;
            var back = WireSpan.ReadInt(theirs, ref pos);
            return mine.SequenceEqual(theirs) && back == v && pos == theirs.Length;
        }).QuickCheckThrowOnFailure();
        // Forms MessagePack reads but never writes for these values still read back.
        var pos = 0;
        Assert.Equal(5, WireSpan.ReadInt([0xcf, 0, 0, 0, 0, 0, 0, 0, 5], ref pos));
        pos = 0;
        Assert.Throws<MessagePackSerializationException>(() => WireSpan.ReadInt([0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], ref pos));
    }

    [Fact]
    public void Strings_and_binaries_of_every_length_class_are_read_by_MessagePack_and_back()
    {
        Prop.ForAll(Gen.Elements(0, 1, 10, 31, 32, 200, 255, 256, 70_000).SelectMany(n => Gen.Elements("a", "é", "字", "🙂").Select(c => string.Concat(Enumerable.Repeat(c, n)))).ToArbitrary(), text =>
        {
            var mine = BySpan(o => WireSpan.WriteString(o, text));
            var theirs = ByMessagePack((ref w) => w.Write(text));
            var reader = new MessagePackReader(mine);
            var pos = 0;
            return reader.ReadString() == text
                && WireSpan.TryReadStringBytes(theirs, ref pos, out var utf8) && System.Text.Encoding.UTF8.GetString(utf8) == text && pos == theirs.Length;
        }).QuickCheckThrowOnFailure();
        foreach (var n in new[] { 0, 255, 256, 65_535, 65_536 })
        {
            var bytes = Enumerable.Range(0, n).Select(i => (byte)i).ToArray();
            var mine = BySpan(o => WireSpan.WriteBinary(o, bytes));
            Assert.Equal(ByMessagePack((ref w) => w.Write(bytes)), mine);
            var pos = 0;
            Assert.True(WireSpan.TryReadBinary(mine, ref pos, out var back));
            Assert.Equal(bytes, back.ToArray());
        }
    }

    [Fact]
    public void A_truncated_value_is_a_precise_serialization_error()
    {
        var full = BySpan(o => WireSpan.WriteString(o, new string('x', 100)));
        var pos = 0;
        var e = Assert.Throws<MessagePackSerializationException>(() => WireSpan.TryReadStringBytes(full.AsSpan(0, 50), ref pos, out _));
        Assert.Contains("short", e.Message);
        pos = 0;
        Assert.Throws<MessagePackSerializationException>(() => WireSpan.ReadGuid(full.AsSpan(0, 10), ref pos));
    }

    [Fact]
    public void A_packet_read_back_has_the_same_attributes_and_types()
    {
        var serializer = SerializerRoundTripTests.NewSerializer();
        var src = VrId.New();
        var dest = VrId.New();
        var packet = Packet.From(new { tag = "d", n = -7, big = long.MaxValue, x = 2.5, ok = true, data = new byte[300], who = src, p = new Point(1, 2), none = (string?)null }, src, dest);
        var buffer = new ArrayBufferWriter<byte>();
        serializer.WritePacket(buffer, packet);
        var back = serializer.ReadPacket(buffer.WrittenMemory);
        Assert.Equal(src, back.Src);
        Assert.Equal(dest, back.Dest);
        Assert.Equal(packet.Keys, back.Keys);
        foreach (var key in packet.Keys.Skip(2))
        {
            Assert.Equal(packet[key]?.GetType(), back[key]?.GetType());
            Assert.Equal(packet[key], back[key]);
        }
    }

    [Fact]
    public void Packets_of_one_shape_share_names_and_short_strings_and_other_shapes_never_overwrite_them()
    {
        var serializer = SerializerRoundTripTests.NewSerializer();
        Packet RoundTrip(object attributes)
        {
            var buffer = new ArrayBufferWriter<byte>();
            serializer.WritePacket(buffer, Packet.From(attributes, VrId.New(), VrId.New()));
            return serializer.ReadPacket(buffer.WrittenMemory);
        }
        var first = RoundTrip(new { tag = "d", n = 1 });
        var second = RoundTrip(new { tag = "d", n = 2 });
        var other = RoundTrip(new { tag = "d", m = 3 });
        var longer = RoundTrip(new Dictionary<string, object?> { ["tag"] = new string('t', 40), [new string('x', 40)] = 5 });
        var third = RoundTrip(new { tag = "d", n = 4 });
        var retagged = RoundTrip(new { tag = "é", n = 6 });
        var again = RoundTrip(new { tag = "é", n = 7 });
        var back = RoundTrip(new { tag = "d", n = 8 });
        Assert.Same(first.AttributeNames, second.AttributeNames);
        Assert.Same(first.Get<string>("tag"), second.Get<string>("tag"));
        Assert.Equal(["tag", "n"], first.AttributeNames);
        Assert.Equal(["tag", "m"], other.AttributeNames);
        Assert.Equal(["tag", new string('x', 40)], longer.AttributeNames);
        Assert.Equal(new string('t', 40), longer.Get<string>("tag"));
        Assert.Equal(["tag", "n"], third.AttributeNames);
        Assert.Equal(("é", "é", "d", 8), (retagged.Get<string>("tag"), again.Get<string>("tag"), back.Get<string>("tag"), back.Get<int>("n")));
        Assert.Same(third.AttributeNames, back.AttributeNames);
        Assert.Equal((1, 2, 3, 5, 4), (first.Get<int>("n"), second.Get<int>("n"), other.Get<int>("m"), longer.Get<int>(new string('x', 40)), third.Get<int>("n")));
    }

    [Fact]
    public void A_big_last_byte_array_is_found_from_the_head_alone_and_read_apart()
    {
        var serializer = SerializerRoundTripTests.NewSerializer();
        byte[] Body(object attributes)
        {
            var buffer = new ArrayBufferWriter<byte>();
            serializer.WritePacket(buffer, Packet.From(attributes, VrId.New(), VrId.New()));
            return buffer.WrittenSpan.ToArray();
        }
        var data = Enumerable.Range(0, 70_000).Select(i => (byte)i).ToArray();
        var body = Body(new { tag = "d", p = new Point(1, 2), none = (string?)null, data });
        // Only the first 400 bytes have arrived: enough to find where the value's bytes start.
        Assert.True(RiverSerializer.TryFindTail(body.AsMemory(0, 400), body.Length, out var offset, out var type));
        Assert.Equal(body.Length - data.Length, offset);
        Assert.Equal(typeof(byte[]), type);
        var packet = serializer.ReadPacket(body.AsMemory(0, offset), tail: data);
        Assert.Same(data, packet["data"]);
        Assert.Equal(new Point(1, 2), packet["p"]);
        // Not a byte[] last, a head cut short, a body of another length: read whole instead.
        Assert.False(RiverSerializer.TryFindTail(Body(new { data, tag = "d" }), body.Length, out _, out _));
        Assert.False(RiverSerializer.TryFindTail(body.AsMemory(0, 40), body.Length, out _, out _));
        Assert.False(RiverSerializer.TryFindTail(body.AsMemory(0, 400), body.Length + 1, out _, out _));
        Assert.Throws<MessagePackSerializationException>(() => serializer.ReadPacket(body.AsMemory(0, offset), tail: new byte[5]));
    }

    [Theory]
    [InlineData(100)]
    [InlineData(70_000)]
    [InlineData(1 << 20)]
    public void A_packet_written_without_its_big_last_byte_array_is_the_whole_packet_once_the_array_follows(int length)
    {
        var serializer = SerializerRoundTripTests.NewSerializer();
        var data = Enumerable.Range(0, length).Select(i => (byte)(i * 7)).ToArray();
        var packet = Packet.From(new { tag = "d", n = 3, data }, VrId.New(), VrId.New());
        var whole = new ArrayBufferWriter<byte>();
        serializer.WritePacket(whole, packet);
        var head = new ArrayBufferWriter<byte>();
        var tail = RiverSerializer.TailOf(packet, 64);
        Assert.Same(data, tail);
        serializer.WritePacket(head, packet, tail);
        Assert.Equal(whole.WrittenSpan.ToArray(), (byte[])[.. head.WrittenSpan, .. data]);
        // Too short, not last, or not an array of numbers: no tail.
        Assert.Null(RiverSerializer.TailOf(packet, length + 1));
        Assert.Null(RiverSerializer.TailOf(Packet.From(new { data, tag = "d" }), 64));
        Assert.Null(RiverSerializer.TailOf(Packet.From(new { tag = "d", data = new bool[length] }), 64));
    }
}

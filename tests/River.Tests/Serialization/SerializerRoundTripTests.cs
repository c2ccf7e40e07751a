using System.Buffers;
using MessagePack;

namespace River.Tests.Serialization;

public enum Colour { Red, Green }

public sealed record Point(int X, int Y);

public sealed class Plain
{
    public string? Name { get; set; }
    public List<int> Items { get; set; } = [];
    public object? Anything { get; set; }
}

public class SerializerRoundTripTests
{
    private readonly RiverSerializer _serializer = NewSerializer();

    internal static RiverSerializer NewSerializer()
    {
        var s = new RiverSerializer();
        s.AllowList.Allow(typeof(SerializerRoundTripTests).Assembly);
        return s;
    }

    private object? RoundTrip(object? value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        _serializer.WriteValue(buffer, "v", value);
        return _serializer.ReadValue(buffer.WrittenMemory);
    }

    public static TheoryData<object?> Values() =>
    [
        null, true, 'x', (byte)1, (sbyte)-1, (short)2, (ushort)3, 4, 4u, 5L, 5UL, 1.5f, 2.5, 3.25m, "text", "",
        new DateTime(2026, 11, 25, 1, 2, 3, DateTimeKind.Utc), new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.FromHours(2)),
        TimeSpan.FromSeconds(3), Guid.NewGuid(), VrId.New(), VmId.New(), Colour.Green, new byte[] { 1, 2, 3 },
        new[] { 1, 2, 3 }, new[] { "a", "b" }, new List<int> { 1, 2 }, new List<object?> { 1, "a", null, 2.5 },
        new Dictionary<string, int> { ["a"] = 1 }, new Dictionary<string, object?> { ["x"] = 1L, ["y"] = null },
        (1, "a"), Tuple.Create(1, 2.5), new Point(1, 2), new int[][] { [1], [2, 3] },
    ];

    [Theory]
    [MemberData(nameof(Values))]
    public void Every_value_kind_comes_back_equal_and_as_the_type_it_was_sent_as(object? value)
    {
        var back = RoundTrip(value);
        Assert.Equal(value?.GetType(), back?.GetType());
        Assert.Equal(value, back);
    }

    [Fact]
    public void A_plain_class_with_nested_object_values_keeps_their_types()
    {
        var back = Assert.IsType<Plain>(RoundTrip(new Plain { Name = "n", Items = [1, 2], Anything = 7 }));
        Assert.Equal("n", back.Name);
        Assert.Equal([1, 2], back.Items);
        Assert.IsType<int>(back.Anything);
        Assert.Equal(7, back.Anything);
    }

    [Fact]
    public void A_type_outside_the_allow_list_fails_at_send_naming_attribute_and_type()
    {
        var e = Assert.Throws<UnsupportedValueException>(() => _serializer.WriteValue(new ArrayBufferWriter<byte>(), "file", new FileInfo("/tmp/x")));
        Assert.Equal("file", e.Attribute);
        Assert.Contains("System.IO.FileInfo", e.Message);
        Assert.Contains("'file'", e.Message);
    }

    [Fact]
    public void A_delegate_fails_at_send()
    {
        Func<int> f = () => 1;
        var e = Assert.Throws<UnsupportedValueException>(() => _serializer.WriteValue(new ArrayBufferWriter<byte>(), "f", f));
        Assert.Contains("delegates", e.Message);
    }

    [Fact]
    public void Bytes_naming_a_type_outside_the_allow_list_are_refused_without_creating_it()
    {
        // Serialize with a permissive serializer, read with a strict one (the program's assembly not allowed).
        var buffer = new ArrayBufferWriter<byte>();
        _serializer.WriteValue(buffer, "p", new Point(1, 2));
        var strict = new RiverSerializer();
        var e = Assert.ThrowsAny<Exception>(() => strict.ReadValue(buffer.WrittenMemory));
        Assert.Contains("allow-list", (e.InnerException ?? e).Message);
    }
}

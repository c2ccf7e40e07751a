using System.Buffers;
using MessagePack;

namespace River.Tests.Serialization;

/// <summary>Arrays of numbers travel as one block of their bytes: no per-element encoding, no boxing.</summary>
public sealed class BlockArrayTests
{
    private readonly RiverSerializer _serializer = SerializerRoundTripTests.NewSerializer();

    public static TheoryData<Array> Arrays() =>
    [
        new[] { 1.5, double.NaN, -0.0, double.MaxValue }, new[] { 1.5f, -2f }, new[] { int.MinValue, 0, int.MaxValue },
        new[] { long.MinValue, 7L }, new short[] { -3, 4 }, new ushort[] { 5 }, new uint[] { uint.MaxValue }, new ulong[] { ulong.MaxValue },
        new sbyte[] { -128, 127 }, new[] { 'a', 'é' }, Array.Empty<double>(),
    ];

    [Theory]
    [MemberData(nameof(Arrays))]
    public void An_array_of_numbers_comes_back_equal_as_its_own_type(Array array)
    {
        var back = (Array)_serializer.ReadValue(Write(array))!;
        Assert.Equal(array.GetType(), back.GetType());
        Assert.Equal(array.Cast<object>(), back.Cast<object>());
    }

    [Fact]
    public void A_MiB_of_doubles_is_its_bytes_and_a_few_more()
    {
        var data = new double[1 << 17];
        Assert.InRange(Write(data).Length, 1 << 20, (1 << 20) + 8);
    }

    [Fact]
    public void A_local_copy_is_a_new_array_with_the_same_elements()
    {
        var data = new[] { 1.0, 2.0 };
        var copy = (double[])_serializer.Copy("v", data)!;
        Assert.NotSame(data, copy);
        Assert.Equal(data, copy);
    }

    [Fact]
    public void A_block_that_is_not_whole_elements_is_refused()
    {
        var bytes = Write(new[] { 1.0 }).ToArray();
        bytes[2]--; // the bin length: 7 bytes for a double[]
        var error = Assert.Throws<MessagePackSerializationException>(() => _serializer.ReadValue(bytes.AsMemory(0, bytes.Length - 1)));
        Assert.Contains("not a whole number of elements", error.Message);
    }

    private ReadOnlyMemory<byte> Write(object value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        _serializer.WriteValue(buffer, "v", value);
        return buffer.WrittenMemory;
    }
}

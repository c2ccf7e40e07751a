namespace River.Tests.Packets;

public class PacketTests
{
    private static readonly VrId A = VrId.New(), B = VrId.New();

    [Fact]
    public void Src_and_dest_are_attributes_too()
    {
        var p = Packet.From(new { tag = "t", n = 1 }, A, B);
        Assert.Equal(A, p["src"]);
        Assert.Equal(B, p["dest"]);
        Assert.Equal(["src", "dest", "tag", "n"], p.Keys);
        Assert.Equal(4, p.Count);
    }

    [Fact]
    public void Get_names_a_missing_attribute_and_those_present()
    {
        var p = Packet.From(new { tag = "t" });
        var e = Assert.Throws<KeyNotFoundException>(() => p.Get<int>("value"));
        Assert.Contains("'value'", e.Message);
        Assert.Contains("tag", e.Message);
    }

    [Fact]
    public void Get_with_the_wrong_type_names_attribute_and_both_types()
    {
        var p = Packet.From(new { n = 1 });
        var e = Assert.Throws<InvalidCastException>(() => p.Get<string>("n"));
        Assert.Contains("'n'", e.Message);
        Assert.Contains("System.Int32", e.Message);
        Assert.Contains("System.String", e.Message);
    }

    [Fact]
    public void TryGet_and_Dynamic_read_values()
    {
        var p = Packet.From(new { n = 41, name = (string?)null });
        Assert.True(p.TryGet<int>("n", out var n));
        Assert.Equal(41, n);
        Assert.False(p.TryGet<string>("n", out _));
        Assert.True(p.TryGet<string?>("name", out var name));
        Assert.Null(name);
        Assert.Equal(42, (int)p.Dynamic.n + 1);
        Assert.Throws<KeyNotFoundException>(() => (object)p.Dynamic.missing);
    }

    [Fact]
    public void Null_attributes_object_is_refused()
    {
        Assert.Throws<ArgumentNullException>(() => Packet.From(null!));
    }

    [Fact]
    public void A_src_attribute_is_refused_because_the_runtime_sets_it()
    {
        var e = Assert.Throws<ArgumentException>(() => Packet.From(new { src = A }));
        Assert.Contains("'src'", e.Message);
        Assert.Throws<ArgumentException>(() => Packet.From(new Dictionary<string, object?> { ["src"] = 1 }));
    }

    [Fact]
    public void A_dest_attribute_must_be_a_VrId_and_names_the_receiver()
    {
        Assert.Equal(B, Packet.From(new { dest = B, x = 1 }).Dest);
        Assert.False(Packet.From(new { dest = B, x = 1 }).AttributeNames.Contains("dest"));
        var e = Assert.Throws<ArgumentException>(() => Packet.From(new { dest = "somebody" }));
        Assert.Contains("VrId", e.Message);
    }

    [Fact]
    public void Dictionaries_with_null_or_empty_names_are_refused()
    {
        Assert.Throws<ArgumentException>(() => Packet.From(new Dictionary<string, object?> { [""] = 1 }));
    }

    [Fact]
    public void Dictionaries_and_packets_are_attribute_sources()
    {
        var d = Packet.From(new Dictionary<string, object?> { ["a"] = 1, ["b"] = null });
        Assert.Equal(1, d.Get<int>("a"));
        Assert.Null(d["b"]);
        var copy = Packet.From(d);
        Assert.Equal(1, copy.Get<int>("a"));
    }
}

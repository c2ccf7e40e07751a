using System.Buffers;
using MessagePack;

namespace River.Tests.Security;

/// <summary>
/// Type names come from peers: only canonical names of allowed types are kept, at most
/// <see cref="TypeResolver.MaxNames"/> of them, whatever a peer spells (in-process; the VM test is <see cref="TypeNameFloodTests"/>).
/// </summary>
public class TypeNameCacheTests
{
    private static readonly RiverSerializer Serializer = new();

    private static object? Read(byte[] bytes) => Serializer.ReadValue(bytes);

    [Fact]
    public void Spellings_of_Int32_other_than_its_own_are_refused_at_the_top_and_nested()
    {
        for (var n = 0; n < 2 * TypeResolver.MaxNames; n++)
        {
            var spelling = HostileValues.Int32Spelling(n);
            Assert.Throws<TypeAccessException>(() => Serializer.Types.Resolve(spelling));
            // Through MessagePack's typeless formatter, which caches by spelling whatever LoadType gives it.
            var e = Assert.Throws<MessagePackSerializationException>(() => Read(HostileValues.Nested([spelling], HostileValues.Five)));
            Assert.IsType<TypeAccessException>(e.GetBaseException());
        }
        Assert.Throws<TypeAccessException>(() => Serializer.Types.Resolve(" System.Int32, System.Private.CoreLib"));
        Assert.Throws<TypeAccessException>(() => Serializer.Types.Resolve("System.Int32"));
        // None of those took a place: the canonical name still resolves, top-level and nested.
        Assert.Equal(typeof(int), Serializer.Types.Resolve(typeof(int).AssemblyQualifiedName!));
        Assert.Equal(new object[] { 5 }, Read(HostileValues.Nested([typeof(int).AssemblyQualifiedName!], HostileValues.Five)));
    }

    [Fact]
    public void Past_MaxNames_allowed_types_new_names_are_refused_and_known_ones_still_resolve()
    {
        var resolver = new RiverSerializer().Types;
        Type[] parts = [typeof(int), typeof(long), typeof(string), typeof(double), typeof(Guid), typeof(bool), typeof(byte), typeof(decimal), typeof(DateTime), typeof(TimeSpan), typeof(char)];
        var names = (from a in parts from b in parts from c in parts select typeof(ValueTuple<,,>).MakeGenericType(a, b, c).AssemblyQualifiedName!)
            .Take(TypeResolver.MaxNames + 10).ToList();
        Assert.True(names.Count > TypeResolver.MaxNames);
        foreach (var name in names.Take(TypeResolver.MaxNames)) Assert.NotNull(resolver.Resolve(name));
        var refused = Assert.Throws<TypeAccessException>(() => resolver.Resolve(names[TypeResolver.MaxNames]));
        Assert.Contains("already knows", refused.Message);
        Assert.NotNull(resolver.Resolve(names[0]));
    }

    [Fact]
    public void A_name_longer_than_MaxNameLength_is_refused_before_it_is_parsed()
    {
        var name = typeof(int).AssemblyQualifiedName + new string(' ', TypeResolver.MaxNameLength);
        Assert.Contains("characters", Assert.Throws<TypeAccessException>(() => Serializer.Types.Resolve(name)).Message);
    }

    [Fact]
    public void Canonical_names_written_by_River_still_round_trip()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var value = new List<object?> { 1, "a", (3L, 'x'), new Dictionary<string, object?> { ["k"] = (short)2 } };
        Serializer.WriteValue(buffer, "v", value);
        Assert.Equivalent(value, Serializer.ReadValue(buffer.WrittenMemory), strict: true);
    }
}

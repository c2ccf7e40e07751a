using System.Runtime.CompilerServices;
using MessagePack;

namespace River;

/// <summary>
/// MessagePack's generic <c>Serialize&lt;T&gt;</c> and <c>Deserialize&lt;T&gt;</c> for a type known only at run time.
/// MessagePack 2's own overloads that take a <see cref="Type"/> compile about ten expression trees for each new
/// type, a large share of a VM's start-up CPU (each control message and each member type of River's wire types
/// is one); this makes one small generic object per type instead. Same bytes, same exceptions.
/// </summary>
internal abstract class ByType
{
    // Weak keys: a type of a program's collectible load context must not be kept alive by this cache.
    private static readonly ConditionalWeakTable<Type, ByType> Cache = [];

    public static ByType Of(Type type) =>
        Cache.GetValue(type, static t => (ByType)Activator.CreateInstance(typeof(For<>).MakeGenericType(t))!);

    public abstract void Serialize(ref MessagePackWriter writer, object? value, MessagePackSerializerOptions options);

    public abstract object? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options);

    private sealed class For<T> : ByType
    {
        public override void Serialize(ref MessagePackWriter writer, object? value, MessagePackSerializerOptions options) =>
            MessagePackSerializer.Serialize(ref writer, (T)value!, options);

        public override object? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options) =>
            MessagePackSerializer.Deserialize<T>(ref reader, options);
    }
}

using System.Reflection;
using MessagePack;
using MessagePack.Formatters;

namespace River;

/// <summary>
/// Formatters for River's own types, ahead of the typeless resolver (which reads and writes private
/// members): a wire type (<see cref="TypeAllowList.RiverWireTypes"/>) goes by its public constructor and
/// properties only, and any other River type is refused, even if something let its name through.
/// </summary>
internal sealed class RiverTypesResolver : IFormatterResolver
{
    public static readonly RiverTypesResolver Instance = new();

    private static readonly Assembly River = typeof(RiverTypesResolver).Assembly;

    public IMessagePackFormatter<T>? GetFormatter<T>() => Cache<T>.Formatter;

    private static class Cache<T>
    {
        // A constructed generic type or an array belongs to the assembly of its definition or element: not River's.
        // An enum is a number: MessagePack's own formatter is safe for it.
        public static readonly IMessagePackFormatter<T>? Formatter =
            typeof(T).IsArray || typeof(T).IsGenericType || typeof(T).IsEnum || typeof(T).Assembly != River ? null : new PublicMembersFormatter<T>();
    }

    /// <summary>
    /// A map of the public constructor's parameters by name, each written as its property's type; the
    /// constructor builds the value, so nothing but what it takes is set.
    /// </summary>
    private sealed class PublicMembersFormatter<T> : IMessagePackFormatter<T>
    {
        private readonly ConstructorInfo? _constructor;
        private readonly PropertyInfo[] _properties = [];
        private readonly ByType[] _types = [];
        private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);

        public PublicMembersFormatter()
        {
            if (!TypeAllowList.RiverWireTypes.Contains(typeof(T))) return;
            _constructor = typeof(T).GetConstructors().MaxBy(c => c.GetParameters().Length)
                ?? throw new InvalidOperationException($"{typeof(T)} has no public constructor.");
            _properties = [.. _constructor.GetParameters().Select(p => typeof(T).GetProperty(p.Name!)
                ?? throw new InvalidOperationException($"{typeof(T)} has no public property for its parameter {p.Name}."))];
            _types = [.. _properties.Select(p => ByType.Of(p.PropertyType))];
            for (var i = 0; i < _properties.Length; i++) _index[_properties[i].Name] = i;
        }

        private ConstructorInfo Constructor => _constructor
            ?? throw new MessagePackSerializationException($"River's type {typeof(T).FullName} does not travel between VMs.");

        public void Serialize(ref MessagePackWriter writer, T value, MessagePackSerializerOptions options)
        {
            _ = Constructor;
            if (value is null)
            {
                writer.WriteNil();
                return;
            }
            writer.WriteMapHeader(_properties.Length);
            for (var i = 0; i < _properties.Length; i++)
            {
                writer.Write(_properties[i].Name);
                _types[i].Serialize(ref writer, _properties[i].GetValue(value), options);
            }
        }

        public T Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
        {
            var constructor = Constructor;
            if (reader.TryReadNil()) return default!;
            options.Security.DepthStep(ref reader);
            var args = new object?[_properties.Length];
            for (int i = 0, n = reader.ReadMapHeader(); i < n; i++)
            {
                var key = reader.ReadString();
                if (key is not null && _index.TryGetValue(key, out var at))
                    args[at] = _types[at].Deserialize(ref reader, options);
                else reader.Skip(); // a newer peer's member
            }
            reader.Depth--;
            // Reflection passes a missing value-type argument as its default.
            return (T)constructor.Invoke(args);
        }
    }
}

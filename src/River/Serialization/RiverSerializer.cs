using System.Buffers;
using System.Collections.Concurrent;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;

namespace River;

/// <summary>
/// Turns packets and values into bytes and back, for every path between VMs (in-process or network).
/// MessagePack, contractless (no annotations on user types), with each <c>object</c> value carrying its
/// type name so it comes back as the type it was sent as; every name read is checked against the
/// cluster's <see cref="TypeAllowList"/> before anything is created.
/// </summary>
internal sealed class RiverSerializer
{
    private static readonly IFormatterResolver Resolver = CompositeResolver.Create(
        [IdFormatters.Instance],
        [TypelessContractlessStandardResolver.Instance]);

    private static readonly HashSet<Type> Immutable =
    [
        typeof(bool), typeof(char), typeof(byte), typeof(sbyte), typeof(short), typeof(ushort), typeof(int), typeof(uint),
        typeof(long), typeof(ulong), typeof(float), typeof(double), typeof(decimal), typeof(string), typeof(DateTime),
        typeof(DateTimeOffset), typeof(TimeSpan), typeof(DateOnly), typeof(TimeOnly), typeof(Guid), typeof(VrId), typeof(VmId),
    ];

    private readonly IMessagePackFormatter<object?> _object;
    private readonly ConcurrentDictionary<Type, string?> _refusals = new();

    public RiverSerializer(TypeAllowList? allowList = null, Func<string, Type?>? typeLoader = null)
    {
        AllowList = allowList ?? new TypeAllowList();
        Options = new RiverSerializerOptions(Resolver, AllowList, typeLoader ?? (name => Type.GetType(name, throwOnError: false)))
            .WithSecurity(MessagePackSecurity.UntrustedData);
        _object = Options.Resolver.GetFormatterWithVerify<object?>();
    }

    public TypeAllowList AllowList { get; }

    public MessagePackSerializerOptions Options { get; }

    /// <summary>True for values a local send may share instead of copy: nobody can change them.</summary>
    public static bool IsImmutable(object? value) => value is null || value is Enum || Immutable.Contains(value.GetType());

    /// <summary>A deep copy through the wire format, so a local receiver never sees later changes.</summary>
    public object? Copy(string attribute, object? value)
    {
        if (IsImmutable(value)) return value;
        var buffer = new ArrayBufferWriter<byte>(256);
        WriteValue(buffer, attribute, value);
        return ReadValue(new ReadOnlySequence<byte>(buffer.WrittenMemory));
    }

    public void WriteValue(IBufferWriter<byte> output, string attribute, object? value)
    {
        var writer = new MessagePackWriter(output);
        WriteValue(ref writer, attribute, value);
        writer.Flush();
    }

    public object? ReadValue(ReadOnlySequence<byte> bytes)
    {
        var reader = new MessagePackReader(bytes);
        return ReadValue(ref reader);
    }

    public void WriteValue(ref MessagePackWriter writer, string attribute, object? value)
    {
        if (value is not null && RefusalOf(value.GetType()) is { } reason)
            throw new UnsupportedValueException(attribute, value.GetType(), reason);
        try
        {
            _object.Serialize(ref writer, value, Options);
        }
        catch (Exception e) when (e is MessagePackSerializationException or NotSupportedException or InvalidOperationException or TypeAccessException)
        {
            throw new UnsupportedValueException(attribute, value?.GetType(), (e.InnerException ?? e).Message, e);
        }
    }

    public object? ReadValue(ref MessagePackReader reader) => _object.Deserialize(ref reader, Options);

    /// <summary>Writes a packet: src, dest, then (name, value) pairs.</summary>
    public void WritePacket(ref MessagePackWriter writer, Packet packet)
    {
        var names = packet.AttributeNames;
        var values = packet.AttributeValues;
        writer.WriteArrayHeader(2 + 2 * names.Length);
        IdFormatters.WriteGuid(ref writer, packet.Src.Value);
        IdFormatters.WriteGuid(ref writer, packet.Dest.Value);
        for (var i = 0; i < names.Length; i++)
        {
            writer.Write(names[i]);
            WriteValue(ref writer, names[i], values[i]);
        }
    }

    public Packet ReadPacket(ref MessagePackReader reader)
    {
        var n = reader.ReadArrayHeader();
        if (n < 2 || n % 2 != 0) throw new MessagePackSerializationException($"A packet has {n} fields; expected src, dest and name/value pairs.");
        var src = new VrId(IdFormatters.ReadGuid(ref reader));
        var dest = new VrId(IdFormatters.ReadGuid(ref reader));
        var count = (n - 2) / 2;
        var names = new string[count];
        var values = new object?[count];
        for (var i = 0; i < count; i++)
        {
            names[i] = reader.ReadString() ?? throw new MessagePackSerializationException("An attribute name is nil.");
            values[i] = ReadValue(ref reader);
        }
        return new Packet(src, dest, names, values);
    }

    /// <summary>Why a value of <paramref name="type"/> cannot be sent, or null when it can.</summary>
    private string? RefusalOf(Type type) => _refusals.GetOrAdd(type, t =>
        typeof(Delegate).IsAssignableFrom(t) ? "delegates cannot be carried between VMs"
        : t.IsPointer || t == typeof(IntPtr) || t == typeof(UIntPtr) ? "pointers cannot be carried between VMs"
        : !AllowList.IsAllowed(t) ? "the type is not on the cluster's allow-list (framework data types and the program's own assemblies)"
        : null);
}

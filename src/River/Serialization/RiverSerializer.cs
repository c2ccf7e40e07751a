using System.Buffers;
using System.Collections.Concurrent;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;

namespace River;

/// <summary>
/// Turns packets and values into bytes and back, for every path between VMs (in-process or network).
/// MessagePack, contractless (no annotations on user types). Each value is written with what it is,
/// so it comes back as the type it was sent as: common types as a one-byte code, any other type by
/// its assembly-qualified name, resolved by <see cref="TypeResolver"/> in the receiving program's load
/// context and checked against the <see cref="TypeAllowList"/> before anything is created.
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
    private readonly NameCache _names = new();

    public RiverSerializer(TypeAllowList? allowList = null)
    {
        AllowList = allowList ?? new TypeAllowList();
        Options = new RiverSerializerOptions(Resolver, AllowList, Types.Resolve).WithSecurity(MessagePackSecurity.UntrustedData);
        _object = Options.Resolver.GetFormatterWithVerify<object?>();
    }

    public TypeAllowList AllowList { get; }

    public TypeResolver Types { get; } = new();

    public MessagePackSerializerOptions Options { get; }

    /// <summary>True for values a local send may share instead of copy: nobody can change them.</summary>
    public static bool IsImmutable(object? value) =>
        value is null or string or int or long or double or bool or VrId || value is Enum || Immutable.Contains(value.GetType());

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
        if (value is null)
        {
            writer.WriteNil();
            return;
        }
        if (WriteKnown(ref writer, value)) return;
        var type = value.GetType();
        if (RefusalOf(type) is { } reason) throw new UnsupportedValueException(attribute, type, reason);
        try
        {
            writer.Write(type.AssemblyQualifiedName);
            MessagePackSerializer.Serialize(type, ref writer, value, Options);
        }
        catch (Exception e) when (e is MessagePackSerializationException or NotSupportedException or InvalidOperationException or TypeAccessException)
        {
            throw new UnsupportedValueException(attribute, type, (e.InnerException ?? e).Message, e);
        }
    }

    public object? ReadValue(ref MessagePackReader reader)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Nil:
                reader.ReadNil();
                return null;
            case MessagePackType.Integer:
                return ReadKnown(ref reader, (Code)reader.ReadByte());
            case MessagePackType.String:
                var name = reader.ReadString()!;
                var type = Types.Resolve(name) ?? throw new TypeAccessException($"Type '{name}' is not known on this VM; the frame is refused.");
                if (!AllowList.IsAllowed(type)) throw new TypeAccessException($"Type '{type.FullName}' is not on this cluster's allow-list; the frame is refused.");
                return MessagePackSerializer.Deserialize(type, ref reader, Options);
            default:
                throw new MessagePackSerializationException($"A value starts with {reader.NextMessagePackType}, not a type code or name.");
        }
    }

    /// <summary>The one-byte codes of types common enough to skip their names.</summary>
    private enum Code : byte
    {
        Bool = 1, Char, SByte, Byte, Short, UShort, Int, UInt, Long, ULong, Float, Double, Decimal, String, Bytes,
        DateTime, DateTimeOffset, TimeSpan, Guid, VrId, VmId,
    }

    private bool WriteKnown(ref MessagePackWriter w, object value)
    {
        switch (value)
        {
            case int v: w.Write((byte)Code.Int); w.Write(v); return true;
            case string v: w.Write((byte)Code.String); w.Write(v); return true;
            case double v: w.Write((byte)Code.Double); w.Write(v); return true;
            case long v: w.Write((byte)Code.Long); w.Write(v); return true;
            case bool v: w.Write((byte)Code.Bool); w.Write(v); return true;
            case byte[] v: w.Write((byte)Code.Bytes); w.Write(v); return true;
            case VrId v: w.Write((byte)Code.VrId); IdFormatters.WriteGuid(ref w, v.Value); return true;
            case char v: w.Write((byte)Code.Char); w.Write(v); return true;
            case sbyte v: w.Write((byte)Code.SByte); w.Write(v); return true;
            case byte v: w.Write((byte)Code.Byte); w.Write(v); return true;
            case short v: w.Write((byte)Code.Short); w.Write(v); return true;
            case ushort v: w.Write((byte)Code.UShort); w.Write(v); return true;
            case uint v: w.Write((byte)Code.UInt); w.Write(v); return true;
            case ulong v: w.Write((byte)Code.ULong); w.Write(v); return true;
            case float v: w.Write((byte)Code.Float); w.Write(v); return true;
            case decimal v: w.Write((byte)Code.Decimal); Options.Resolver.GetFormatter<decimal>()!.Serialize(ref w, v, Options); return true;
            case DateTime v: w.Write((byte)Code.DateTime); Options.Resolver.GetFormatter<DateTime>()!.Serialize(ref w, v, Options); return true;
            case DateTimeOffset v: w.Write((byte)Code.DateTimeOffset); Options.Resolver.GetFormatter<DateTimeOffset>()!.Serialize(ref w, v, Options); return true;
            case TimeSpan v: w.Write((byte)Code.TimeSpan); w.Write(v.Ticks); return true;
            case Guid v: w.Write((byte)Code.Guid); IdFormatters.WriteGuid(ref w, v); return true;
            case VmId v: w.Write((byte)Code.VmId); IdFormatters.WriteGuid(ref w, v.Value); return true;
            default: return false;
        }
    }

    private object ReadKnown(ref MessagePackReader r, Code code) => code switch
    {
        Code.Int => r.ReadInt32(),
        Code.String => r.ReadString() ?? throw new MessagePackSerializationException("A string value is nil."),
        Code.Double => r.ReadDouble(),
        Code.Long => r.ReadInt64(),
        Code.Bool => r.ReadBoolean(),
        Code.Bytes => r.ReadBytes()?.ToArray() ?? throw new MessagePackSerializationException("A byte[] value is nil."),
        Code.VrId => new VrId(IdFormatters.ReadGuid(ref r)),
        Code.Char => r.ReadChar(),
        Code.SByte => r.ReadSByte(),
        Code.Byte => r.ReadByte(),
        Code.Short => r.ReadInt16(),
        Code.UShort => r.ReadUInt16(),
        Code.UInt => r.ReadUInt32(),
        Code.ULong => r.ReadUInt64(),
        Code.Float => r.ReadSingle(),
        Code.Decimal => Options.Resolver.GetFormatter<decimal>()!.Deserialize(ref r, Options),
        Code.DateTime => Options.Resolver.GetFormatter<DateTime>()!.Deserialize(ref r, Options),
        Code.DateTimeOffset => Options.Resolver.GetFormatter<DateTimeOffset>()!.Deserialize(ref r, Options),
        Code.TimeSpan => new TimeSpan(r.ReadInt64()),
        Code.Guid => IdFormatters.ReadGuid(ref r),
        Code.VmId => new VmId(IdFormatters.ReadGuid(ref r)),
        _ => throw new MessagePackSerializationException($"Unknown value type code {(byte)code}."),
    };

    /// <summary>Writes a packet: src, dest, the attribute count, then (name, value) pairs.</summary>
    public void WritePacket(ref MessagePackWriter writer, Packet packet)
    {
        var names = packet.AttributeNames;
        var values = packet.AttributeValues;
        IdFormatters.WriteGuid(ref writer, packet.Src.Value);
        IdFormatters.WriteGuid(ref writer, packet.Dest.Value);
        writer.Write(names.Length);
        for (var i = 0; i < names.Length; i++)
        {
            writer.Write(names[i]);
            WriteValue(ref writer, names[i], values[i]);
        }
    }

    /// <summary>Reads a packet; its values resolve types in the load context <paramref name="contextOf"/> gives for its receiver.</summary>
    public Packet ReadPacket(ref MessagePackReader reader, Func<VrId, System.Runtime.Loader.AssemblyLoadContext?>? contextOf = null)
    {
        var src = new VrId(IdFormatters.ReadGuid(ref reader));
        var dest = new VrId(IdFormatters.ReadGuid(ref reader));
        var count = reader.ReadInt32();
        // Each attribute takes at least two bytes: a claim beyond that is a lie, refused before allocating for it.
        if (count < 0 || count > (reader.Sequence.Length - reader.Consumed) / 2)
            throw new MessagePackSerializationException($"A packet claims {count} attributes in {reader.Sequence.Length} bytes.");
        var names = new string[count];
        var values = new object?[count];
        using var scope = TypeResolver.Enter(contextOf?.Invoke(dest));
        for (var i = 0; i < count; i++)
        {
            names[i] = _names.Read(ref reader);
            values[i] = ReadValue(ref reader);
        }
        return new Packet(src, dest, names, values);
    }

    /// <summary>Why a value of <paramref name="type"/> cannot be sent, or null when it can.</summary>
    private string? RefusalOf(Type type) => _refusals.TryGetValue(type, out var known) ? known : _refusals.GetOrAdd(type, t =>
        typeof(Delegate).IsAssignableFrom(t) ? "delegates cannot be carried between VMs"
        : t.IsPointer || t == typeof(IntPtr) || t == typeof(UIntPtr) ? "pointers cannot be carried between VMs"
        : !AllowList.IsAllowed(t) ? "the type is not on the cluster's allow-list (framework data types and the program's own assemblies)"
        : null);
}

using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
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
        [RiverTypesResolver.Instance, TypelessContractlessStandardResolver.Instance]);

    private static readonly HashSet<Type> Immutable =
    [
        typeof(bool), typeof(char), typeof(byte), typeof(sbyte), typeof(short), typeof(ushort), typeof(int), typeof(uint),
        typeof(long), typeof(ulong), typeof(float), typeof(double), typeof(decimal), typeof(string), typeof(DateTime),
        typeof(DateTimeOffset), typeof(TimeSpan), typeof(DateOnly), typeof(TimeOnly), typeof(Guid), typeof(VrId), typeof(VmId),
    ];

    private readonly IMessagePackFormatter<object?> _object;
    private readonly ConcurrentDictionary<Type, string?> _refusals = new();
    private readonly StringCache _strings = new();

    // The last packet read on this thread: a stream of one shape shares its names array, and repeats
    // its names and often its short strings (tags), which are compared with these before any hashing.
    [ThreadStatic] private static string[]? t_lastNames;
    [ThreadStatic] private static object?[]? t_lastValues;

    public RiverSerializer(TypeAllowList? allowList = null)
    {
        AllowList = allowList ?? new TypeAllowList();
        Types = new TypeResolver(AllowList);
        Options = new RiverSerializerOptions(Resolver, AllowList, Types.Resolve).WithSecurity(MessagePackSecurity.UntrustedData);
        _object = Options.Resolver.GetFormatterWithVerify<object?>();
    }

    public TypeAllowList AllowList { get; }

    public TypeResolver Types { get; }

    public MessagePackSerializerOptions Options { get; }

    /// <summary>True for values a local send may share instead of copy: nobody can change them.</summary>
    public static bool IsImmutable(object? value) =>
        value is null or string or int or long or double or bool or VrId || value is Enum || Immutable.Contains(value.GetType());

    /// <summary>A deep copy through the wire format, so a local receiver never sees later changes.</summary>
    public object? Copy(string attribute, object? value)
    {
        if (IsImmutable(value)) return value;
        if (value is Array a && Blocks.ContainsKey(a.GetType())) return a.Clone();
        var buffer = new ArrayBufferWriter<byte>(256);
        WriteValue(buffer, attribute, value);
        return ReadValue(buffer.WrittenMemory);
    }

    /// <summary>Writes one value: the commonest types straight to <paramref name="output"/>, any other through MessagePack.</summary>
    public void WriteValue(IBufferWriter<byte> output, string attribute, object? value)
    {
        switch (value)
        {
            case null: WireSpan.WriteNil(output); return;
            case int v: WriteCode(output, Code.Int); WireSpan.WriteInt(output, v); return;
            case string v: WriteCode(output, Code.String); WireSpan.WriteString(output, v); return;
            case double v: WriteCode(output, Code.Double); WireSpan.WriteDouble(output, v); return;
            case long v: WriteCode(output, Code.Long); WireSpan.WriteInt(output, v); return;
            case bool v: WriteCode(output, Code.Bool); WireSpan.WriteBool(output, v); return;
            // An sbyte[] passes `is byte[]` in the CLR: byte[] is matched by its exact type (sbyte[] is a block array).
            case byte[] v when v.GetType() == typeof(byte[]): WriteCode(output, Code.Bytes); WireSpan.WriteBinary(output, v); return;
            case VrId v: WriteCode(output, Code.VrId); output.Advance(WireSpan.WriteGuid(output.GetSpan(18), v.Value)); return;
            case Array v when Blocks.TryGetValue(v.GetType(), out var block): WriteCode(output, block.Code); WireSpan.WriteBinary(output, BytesOf(v)); return;
        }
        var writer = new MessagePackWriter(output);
        WriteValue(ref writer, attribute, value);
        writer.Flush();
    }

    public object? ReadValue(ReadOnlyMemory<byte> bytes)
    {
        var pos = 0;
        return ReadValue(bytes, ref pos);
    }

    /// <summary>Reads the value at <paramref name="pos"/> and moves past it.</summary>
    public object? ReadValue(ReadOnlyMemory<byte> bytes, ref int pos)
    {
        if (TryReadCommon(bytes.Span, _strings, ref pos, out var value)) return value;
        var reader = new MessagePackReader(bytes[pos..]);
        value = ReadValue(ref reader);
        pos += (int)reader.Consumed;
        return value;
    }

    private static void WriteCode(IBufferWriter<byte> output, Code code)
    {
        output.GetSpan(1)[0] = (byte)code;
        output.Advance(1);
    }

    /// <summary>The values <see cref="WriteValue(IBufferWriter{byte}, string, object?)"/> writes itself, read from the span; false (nothing read) for any other.</summary>
    private static bool TryReadCommon(ReadOnlySpan<byte> s, StringCache strings, ref int pos, out object? value, string? previous = null)
    {
        value = null;
        if (pos >= s.Length) return false;
        if (WireSpan.IsNil(s, pos))
        {
            pos++;
            return true;
        }
        var at = pos + 1;
        switch ((Code)s[pos])
        {
            case Code.Int: value = WireSpan.ReadInt32(s, ref at); break;
            case Code.Long: value = WireSpan.ReadInt(s, ref at); break;
            case Code.String when WireSpan.TryReadStringBytes(s, ref at, out var utf8): value = previous is not null && Ascii.Equals(utf8, previous) ? previous : strings.Get(utf8); break;
            case Code.Double when WireSpan.TryReadDouble(s, ref at, out var d): value = d; break;
            case Code.Bool when WireSpan.TryReadBool(s, ref at, out var b): value = b; break;
            case Code.VrId: value = new VrId(WireSpan.ReadGuid(s, ref at)); break;
            case Code.Bytes when WireSpan.TryReadBinary(s, ref at, out var bytes): value = bytes.ToArray(); break; // the commonest array: no lookup
            case >= Code.DoubleArray and <= Code.CharArray when WireSpan.TryReadBinary(s, ref at, out var bytes): value = ArrayOf((Code)s[pos], bytes); break;
            default: return false;
        }
        pos = at;
        return true;
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
            ByType.Of(type).Serialize(ref writer, value, Options);
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
                var type = Types.Resolve(reader.ReadString()!);
                return ByType.Of(type).Deserialize(ref reader, Options);
            default:
                throw new MessagePackSerializationException($"A value starts with {reader.NextMessagePackType}, not a type code or name.");
        }
    }

    /// <summary>The one-byte codes of types common enough to skip their names.</summary>
    private enum Code : byte
    {
        Bool = 1, Char, SByte, Byte, Short, UShort, Int, UInt, Long, ULong, Float, Double, Decimal, String, Bytes,
        DateTime, DateTimeOffset, TimeSpan, Guid, VrId, VmId,

        // Arrays of numbers and chars: one block of their bytes (little-endian, as laid out in memory), no per-element work.
        DoubleArray, FloatArray, IntArray, LongArray, ShortArray, UShortArray, UIntArray, ULongArray, SByteArray, CharArray,
    }

    /// <summary>An array type written as one block of its elements' bytes: its code, element size, and how to make one.</summary>
    private sealed record Block(Code Code, Type ArrayType, int ElementSize, Func<int, Array> Allocate);

    private static KeyValuePair<Type, Block> BlockOf<T>(Code code) where T : unmanaged =>
        new(typeof(T[]), new Block(code, typeof(T[]), Unsafe.SizeOf<T>(), n => GC.AllocateUninitializedArray<T>(n)));

    // byte[] is a block too (code Bytes), so a big value of any of these types travels the same way (TailOf).
    private static readonly Dictionary<Type, Block> Blocks = new(
    [
        BlockOf<byte>(Code.Bytes), BlockOf<double>(Code.DoubleArray), BlockOf<float>(Code.FloatArray), BlockOf<int>(Code.IntArray),
        BlockOf<long>(Code.LongArray), BlockOf<short>(Code.ShortArray), BlockOf<ushort>(Code.UShortArray), BlockOf<uint>(Code.UIntArray),
        BlockOf<ulong>(Code.ULongArray), BlockOf<sbyte>(Code.SByteArray), BlockOf<char>(Code.CharArray),
    ]);

    private static readonly int MaxElementSize = Blocks.Values.Max(b => b.ElementSize);

    private static readonly Dictionary<Code, Block> BlocksByCode = Blocks.Values.ToDictionary(b => b.Code);

    /// <summary>
    /// The bytes of an array of primitives as it lies in memory, writable (a receiver reads a big value's bytes straight
    /// into its array through this). The wire says little-endian: River assumes a little-endian machine, as x64 and Arm64 are.
    /// </summary>
    public static Span<byte> BytesOf(Array array) =>
        MemoryMarshal.CreateSpan(ref MemoryMarshal.GetArrayDataReference(array), (int)Buffer.ByteLength(array));

    /// <summary>
    /// An array of <paramref name="arrayType"/> (a type <see cref="TailOf(Packet, int)"/> can return) of <paramref name="bytes"/> bytes
    /// rounded down to whole elements, not zeroed: its bytes are written over at once.
    /// </summary>
    public static Array NewArray(Type arrayType, int bytes)
    {
        var block = Blocks[arrayType];
        return block.Allocate(bytes / block.ElementSize);
    }

    private static Array ArrayOf(Code code, ReadOnlySpan<byte> bytes)
    {
        var block = BlocksByCode[code]; // callers pass array codes only
        var array = block.Allocate(WholeElements(block, bytes.Length));
        bytes.CopyTo(BytesOf(array));
        return array;
    }

    private static int WholeElements(Block block, int bytes) => bytes % block.ElementSize == 0
        ? bytes / block.ElementSize
        : throw new MessagePackSerializationException($"A {block.ArrayType.GetElementType()!.Name}[] of {bytes} bytes is not a whole number of elements.");

    private bool WriteKnown(ref MessagePackWriter w, object value)
    {
        switch (value)
        {
            case int v: w.Write((byte)Code.Int); w.Write(v); return true;
            case string v: w.Write((byte)Code.String); w.Write(v); return true;
            case double v: w.Write((byte)Code.Double); w.Write(v); return true;
            case long v: w.Write((byte)Code.Long); w.Write(v); return true;
            case bool v: w.Write((byte)Code.Bool); w.Write(v); return true;
            case byte[] v when v.GetType() == typeof(byte[]): w.Write((byte)Code.Bytes); w.Write(v); return true;
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
            case Array v when Blocks.TryGetValue(v.GetType(), out var block): w.Write((byte)block.Code); w.Write(BytesOf(v)); return true;
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
        Code.Bytes or (>= Code.DoubleArray and <= Code.CharArray) => ArrayOf(code, ReadBlock(ref r)),
        _ => throw new MessagePackSerializationException($"Unknown value type code {(byte)code}."),
    };

    private static ReadOnlySpan<byte> ReadBlock(ref MessagePackReader r) =>
        r.ReadBytes() is { } bytes ? (bytes.IsSingleSegment ? bytes.FirstSpan : bytes.ToArray()) : throw new MessagePackSerializationException("An array value is nil.");

    /// <summary>
    /// Writes a packet: src, dest, the attribute count, then (name, value) pairs; a trace context first, as the reserved
    /// attributes <see cref="Packet.TraceAttribute"/> and <see cref="Packet.TraceStateAttribute"/> (a peer that does not know
    /// them reads two more string attributes).
    /// </summary>
    public void WritePacket(IBufferWriter<byte> output, Packet packet) => WritePacket(output, packet, null);

    /// <summary>
    /// The array of numbers (a <c>byte[]</c>, <c>double[]</c>, ... any type written as one block of its bytes) a packet
    /// ends with, when it holds at least <paramref name="minBytes"/> bytes: such a value is worth sending apart from the
    /// rest of the frame (<see cref="WritePacket(IBufferWriter{byte}, Packet, Array)"/>), its bytes being <see cref="BytesOf"/>.
    /// </summary>
    public static Array? TailOf(Packet packet, int minBytes) => TailOf(packet.AttributeValues, minBytes);

    /// <summary>The array a packet with these <paramref name="values"/> ends with, as <see cref="TailOf(Packet, int)"/>.</summary>
    public static Array? TailOf(object?[] values, int minBytes) =>
        // The length first: a stream's small arrays then skip the lookup of their type.
        values is [.., Array tail] && (long)tail.Length * MaxElementSize >= minBytes && Blocks.ContainsKey(tail.GetType()) && Buffer.ByteLength(tail) >= minBytes ? tail : null;

    /// <summary>
    /// Writes a packet; with <paramref name="tail"/> (its last value, <see cref="TailOf(Packet, int)"/>) everything but that value's
    /// bytes, which the caller writes right after: the bytes on the wire are the same.
    /// </summary>
    public void WritePacket(IBufferWriter<byte> output, Packet packet, Array? tail) =>
        WritePacket(output, packet.Src, packet.Dest, packet.AttributeNames, packet.AttributeValues, packet.Trace, tail);

    /// <summary>Writes the packet these fields make, as <see cref="WritePacket(IBufferWriter{byte}, Packet, Array)"/>, without a <see cref="Packet"/> object.</summary>
    public void WritePacket(IBufferWriter<byte> output, VrId src, VrId dest, string[] names, object?[] values, PacketTrace? trace, Array? tail)
    {
        var s = output.GetSpan(2 * 18 + 9);
        var n = WireSpan.WriteGuid(s, src.Value);
        n += WireSpan.WriteGuid(s[n..], dest.Value);
        n += WireSpan.WriteInt(s[n..], names.Length + (trace is null ? 0 : trace.State is null ? 1 : 2));
        output.Advance(n);
        if (trace is not null)
        {
            WriteTraceAttribute(output, Packet.TraceAttribute, trace.Parent);
            if (trace.State is { } state) WriteTraceAttribute(output, Packet.TraceStateAttribute, state);
        }
        var whole = tail is null ? names.Length : names.Length - 1;
        for (var i = 0; i < whole; i++)
        {
            WireSpan.WriteString(output, names[i]);
            WriteValue(output, names[i], values[i]);
        }
        if (tail is null) return;
        WireSpan.WriteString(output, names[^1]);
        var header = output.GetSpan(6);
        header[0] = (byte)Blocks[tail.GetType()].Code;
        output.Advance(1 + WireSpan.WriteBinaryHeader(header[1..], (int)Buffer.ByteLength(tail)));
    }

    private static readonly byte[] TraceName = Encoding.ASCII.GetBytes(Packet.TraceAttribute), TraceStateName = Encoding.ASCII.GetBytes(Packet.TraceStateAttribute);

    private static void WriteTraceAttribute(IBufferWriter<byte> output, string name, string value)
    {
        WireSpan.WriteString(output, name);
        WriteCode(output, Code.String);
        WireSpan.WriteString(output, value);
    }

    /// <summary>
    /// Reads the reserved trace attribute <paramref name="name"/> if it is next (<paramref name="count"/> attributes left);
    /// its value must be a string.
    /// </summary>
    private string? ReadTraceAttribute(ReadOnlySpan<byte> s, ref int pos, ref int count, ReadOnlySpan<byte> name)
    {
        // Its name as MessagePack writes it: a fixstr header (both names are under 32 bytes), then the bytes.
        if (count == 0 || s.Length - pos <= name.Length || s[pos] != (0xa0 | name.Length) || !s.Slice(pos + 1, name.Length).SequenceEqual(name)) return null;
        pos += 1 + name.Length;
        count--;
        var at = pos;
        if (!TryReadCommon(s, _strings, ref pos, out var value) || value is not string text)
            throw new MessagePackSerializationException($"Attribute '{Encoding.UTF8.GetString(name)}' at offset {at} does not hold a string.");
        return text;
    }

    /// <summary>
    /// Whether a packet whose body is <paramref name="bodyLength"/> bytes long, of which <paramref name="head"/>
    /// has arrived, ends with an array of numbers (one <see cref="TailOf(Packet, int)"/> would leave out) running to its last byte,
    /// where that value's bytes start, and its type: then they can be read from the socket straight into an array of
    /// their own (<see cref="NewArray"/>). A length that is not a whole number of elements is no tail: the frame is
    /// read whole and refused then, with the reason.
    /// </summary>
    public static bool TryFindTail(ReadOnlyMemory<byte> head, int bodyLength, out int tailOffset, [NotNullWhen(true)] out Type? arrayType)
    {
        tailOffset = 0;
        arrayType = null;
        var s = head.Span;
        try
        {
            var pos = 0;
            WireSpan.ReadGuid(s, ref pos);
            WireSpan.ReadGuid(s, ref pos);
            var count = WireSpan.ReadInt32(s, ref pos);
            for (var i = 0; i < count; i++)
            {
                if (!WireSpan.TryReadStringBytes(s, ref pos, out _)) return false;
                if (i < count - 1)
                {
                    // A value is nil, or a type code or name followed by the value itself.
                    var reader = new MessagePackReader(head[pos..]);
                    if (!reader.TryReadNil())
                    {
                        reader.Skip();
                        reader.Skip();
                    }
                    pos += (int)reader.Consumed;
                    continue;
                }
                // Subtraction: a claimed length near int.MaxValue must not wrap pos + length around.
                if (!TryReadTailHeader(s, ref pos, out var block, out var length) || length != bodyLength - pos || length % block.ElementSize != 0) return false;
                tailOffset = pos;
                arrayType = block.ArrayType;
                return true;
            }
            return false;
        }
        catch (Exception e) when (e is MessagePackSerializationException or EndOfStreamException)
        {
            return false; // not all of the head has arrived, or it is malformed: the frame is read whole and judged then
        }
    }

    /// <summary>
    /// Reads a packet; values named by type resolve in the load context <paramref name="contextOf"/> gives for
    /// its receiver. With <paramref name="tail"/>, <paramref name="body"/> stops where the last value's bytes
    /// would start (<see cref="TryFindTail"/>), and that value is <paramref name="tail"/>.
    /// </summary>
    public Packet ReadPacket(ReadOnlyMemory<byte> body, Func<VrId, System.Runtime.Loader.AssemblyLoadContext?>? contextOf = null, Array? tail = null)
    {
        var s = body.Span;
        var pos = 0;
        var src = new VrId(WireSpan.ReadGuid(s, ref pos));
        var dest = new VrId(WireSpan.ReadGuid(s, ref pos));
        var count = WireSpan.ReadInt32(s, ref pos);
        // Each attribute takes at least two bytes: a claim beyond that is a lie, refused before allocating for it.
        if (count < 0 || count > (s.Length - pos) / 2)
            throw new MessagePackSerializationException($"A packet claims {count} attributes in {s.Length} bytes.");
        PacketTrace? trace = null;
        if (ReadTraceAttribute(s, ref pos, ref count, TraceName) is { } parent)
            trace = PacketTrace.Arrived(parent, ReadTraceAttribute(s, ref pos, ref count, TraceStateName));
        var (last, lastValues) = (t_lastNames, t_lastValues);
        var names = last?.Length == count ? last : new string[count];
        var values = new object?[count];
        for (var i = 0; i < count; i++)
        {
            if (!WireSpan.TryReadStringBytes(s, ref pos, out var utf8))
                throw new MessagePackSerializationException($"An attribute name at offset {pos} is not a string.");
            var same = names == last;
            var name = same && Ascii.Equals(utf8, last![i]) ? last[i] : _strings.Get(utf8);
            if (same && !ReferenceEquals(name, last![i])) names = [.. last[..i], .. new string[count - i]];
            if (names != last) names[i] = name; // a shared array is never written
            object? value;
            if (tail is not null && i == count - 1) value = ReadTail(s, ref pos, tail);
            else if (!TryReadCommon(s, _strings, ref pos, out value, names == last ? lastValues![i] as string : null))
            {
                using var scope = TypeResolver.Enter(contextOf?.Invoke(dest));
                value = ReadValue(body, ref pos);
            }
            values[i] = value;
        }
        (t_lastNames, t_lastValues) = (names, values);
        return new Packet(src, dest, names, values) { Trace = trace, Recyclable = tail is not null };
    }

    private static Array ReadTail(ReadOnlySpan<byte> s, ref int pos, Array tail) =>
        TryReadTailHeader(s, ref pos, out var block, out var length) && Blocks[tail.GetType()] == block && length == Buffer.ByteLength(tail) && pos == s.Length
            ? tail
            : throw new MessagePackSerializationException("A packet's last value is not the array read apart from it.");

    /// <summary>The type code of an array of numbers and its bin header, moving to its first byte; false (nothing read) for anything else.</summary>
    private static bool TryReadTailHeader(ReadOnlySpan<byte> s, ref int pos, [NotNullWhen(true)] out Block? block, out int length)
    {
        var at = pos + 1;
        length = 0;
        block = null;
        if (pos >= s.Length || !BlocksByCode.TryGetValue((Code)s[pos], out block) || !WireSpan.TryReadBinaryHeader(s, ref at, out length)) return false;
        pos = at;
        return true;
    }

    /// <summary>Why a value of <paramref name="type"/> cannot be sent, or null when it can.</summary>
    private string? RefusalOf(Type type) => _refusals.TryGetValue(type, out var known) ? known : _refusals.GetOrAdd(type, t =>
        typeof(Delegate).IsAssignableFrom(t) ? "delegates cannot be carried between VMs"
        : t.IsPointer || t == typeof(IntPtr) || t == typeof(UIntPtr) ? "pointers cannot be carried between VMs"
        : !AllowList.IsAllowed(t) ? "the type is not on the cluster's allow-list (framework data types and the program's own assemblies)"
        : null);
}

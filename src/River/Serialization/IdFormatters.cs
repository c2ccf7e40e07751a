using MessagePack;
using MessagePack.Formatters;

namespace River;

/// <summary>Writes <see cref="VrId"/> and <see cref="VmId"/> as 16 raw bytes (a UUID string would be 37).</summary>
internal sealed class IdFormatters : IMessagePackFormatter<VrId>, IMessagePackFormatter<VmId>
{
    public static readonly IdFormatters Instance = new();

    public void Serialize(ref MessagePackWriter writer, VrId value, MessagePackSerializerOptions options) => WriteGuid(ref writer, value.Value);

    public VrId Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options) => new(ReadGuid(ref reader));

    public void Serialize(ref MessagePackWriter writer, VmId value, MessagePackSerializerOptions options) => WriteGuid(ref writer, value.Value);

    VmId IMessagePackFormatter<VmId>.Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options) => new(ReadGuid(ref reader));

    public static void WriteGuid(ref MessagePackWriter writer, Guid value)
    {
        writer.WriteBinHeader(16);
        value.TryWriteBytes(writer.GetSpan(16));
        writer.Advance(16);
    }

    public static Guid ReadGuid(ref MessagePackReader reader)
    {
        var seq = reader.ReadBytes() ?? throw new MessagePackSerializationException("A UUID is nil.");
        if (seq.Length != 16) throw new MessagePackSerializationException($"A UUID has {seq.Length} bytes, not 16.");
        Span<byte> bytes = stackalloc byte[16];
        System.Buffers.BuffersExtensions.CopyTo(seq, bytes);
        return new Guid(bytes);
    }
}

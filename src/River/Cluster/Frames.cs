using System.Buffers;

namespace River;

/// <summary>
/// The frame body both transports carry: one kind byte, then a packet or a control message in
/// MessagePack. Frames are built in a per-thread buffer; a peer copies them out before returning.
/// </summary>
internal static class Frames
{
    public const byte PacketKind = 1;
    public const byte ControlKind = 2;

    /// <summary>Transport-level keep-alive; never reaches the VM.</summary>
    public const byte HeartbeatKind = 3;

    /// <summary>Transport-level: how many numbered frames (packets, control messages) arrived; the sender frees them.</summary>
    public const byte AckKind = 4;

    /// <summary>Transport-level, the first frame on a new connection: how many numbered frames arrived over earlier ones.</summary>
    public const byte ResumeKind = 5;

    /// <summary>The bodies of length-prefixed frames laid end to end.</summary>
    public static IEnumerable<byte[]> Split(ReadOnlyMemory<byte> framed)
    {
        for (var at = 0; at + 4 <= framed.Length;)
        {
            var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(framed.Span[at..]);
            yield return framed.Slice(at + 4, length).ToArray();
            at += 4 + length;
        }
    }

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;

    public static ReadOnlySpan<byte> Packet(RiverSerializer serializer, Packet packet)
    {
        var buffer = Start(PacketKind);
        serializer.WritePacket(buffer, packet);
        return buffer.WrittenSpan;
    }

    public static ReadOnlySpan<byte> Control(RiverSerializer serializer, object message)
    {
        var buffer = Start(ControlKind);
        serializer.WriteValue(buffer, message.GetType().Name, message);
        return buffer.WrittenSpan;
    }

    private static ArrayBufferWriter<byte> Start(byte kind)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        if (buffer.Capacity > 16 << 20) buffer = t_buffer = new ArrayBufferWriter<byte>(1024); // keep big buffers for big values, not huge ones
        buffer.ResetWrittenCount();
        buffer.GetSpan(1)[0] = kind;
        buffer.Advance(1);
        return buffer;
    }
}

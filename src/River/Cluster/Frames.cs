using System.Buffers;
using System.Buffers.Binary;

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

    /// <summary>A packet to or from a mirrored VR: its number in its (src, dest) stream (u64 LE), then the packet as in kind 1.</summary>
    public const byte SequencedKind = 6;

    /// <summary>Kinds whose body is a packet (after the sequence number, for <see cref="SequencedKind"/>).</summary>
    public static bool IsPacket(byte kind) => kind is PacketKind or SequencedKind;

    /// <summary>Where the packet starts in a frame of <paramref name="kind"/>.</summary>
    public static int PacketOffset(byte kind) => kind == SequencedKind ? 1 + sizeof(long) : 1;

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

    /// <summary>A packet frame: kind 1, or kind 6 with the packet's <see cref="River.Packet.MirrorSeq"/> when it has one.</summary>
    public static ReadOnlySpan<byte> Packet(RiverSerializer serializer, Packet packet) => Packet(serializer, packet, int.MaxValue, out _);

    /// <summary>
    /// A packet frame whose last value, a <c>byte[]</c> of at least <paramref name="splitAt"/> bytes, is left out as
    /// <paramref name="tail"/>: the frame is the span returned followed by the tail's bytes, so a peer copies the
    /// user's array once, where it keeps the frame, instead of once more into this buffer.
    /// </summary>
    public static ReadOnlySpan<byte> Packet(RiverSerializer serializer, Packet packet, int splitAt, out byte[]? tail)
    {
        var buffer = Start(packet.MirrorSeq == 0 ? PacketKind : SequencedKind);
        if (packet.MirrorSeq != 0)
        {
            BinaryPrimitives.WriteInt64LittleEndian(buffer.GetSpan(sizeof(long)), packet.MirrorSeq);
            buffer.Advance(sizeof(long));
        }
        tail = RiverSerializer.TailOf(packet, splitAt);
        serializer.WritePacket(buffer, packet, tail);
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

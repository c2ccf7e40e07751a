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

    /// <summary>
    /// A packet of a checkpointed run: its number in its (src, dest) stream (u64 LE), its mirroring number (u64 LE, 0 for
    /// none), then the packet as in kind 1.
    /// </summary>
    public const byte CheckpointedKind = 7;

    /// <summary>Kinds whose body is a packet (after the sequence numbers, for <see cref="SequencedKind"/> and <see cref="CheckpointedKind"/>).</summary>
    public static bool IsPacket(byte kind) => kind is PacketKind or SequencedKind or CheckpointedKind;

    /// <summary>Where the packet starts in a frame of <paramref name="kind"/>.</summary>
    public static int PacketOffset(byte kind) => kind switch
    {
        SequencedKind => 1 + sizeof(long),
        CheckpointedKind => 1 + 2 * sizeof(long),
        _ => 1,
    };

    /// <summary>Reads a packet frame of any packet kind, with the numbers its header carries.</summary>
    public static Packet ReadPacket(RiverSerializer serializer, ReadOnlyMemory<byte> frame, Func<VrId, System.Runtime.Loader.AssemblyLoadContext?>? contextOf, Array? tail = null)
    {
        var kind = frame.Span[0];
        var offset = PacketOffset(kind);
        if (frame.Length < offset) throw new InvalidDataException($"A packet frame of kind {kind} has {frame.Length} bytes, fewer than its header's {offset}.");
        var packet = serializer.ReadPacket(frame[offset..], contextOf, tail);
        switch (kind)
        {
            case SequencedKind:
                packet.MirrorSeq = BinaryPrimitives.ReadInt64LittleEndian(frame.Span[1..]);
                if (tail is null) packet.ArrivedFrame = frame;
                break;
            case CheckpointedKind:
                packet.CheckpointSeq = BinaryPrimitives.ReadInt64LittleEndian(frame.Span[1..]);
                packet.MirrorSeq = BinaryPrimitives.ReadInt64LittleEndian(frame.Span[(1 + sizeof(long))..]);
                break;
        }
        return packet;
    }

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

    /// <summary>
    /// A packet frame: kind 1; kind 6 with the packet's <see cref="River.Packet.MirrorSeq"/> when it has one; kind 7 with
    /// its <see cref="River.Packet.CheckpointSeq"/> (and mirroring number) when it has one.
    /// </summary>
    public static ReadOnlySpan<byte> Packet(RiverSerializer serializer, Packet packet) => Packet(serializer, packet, int.MaxValue, out _);

    /// <summary>
    /// A packet frame whose last value, an array of numbers of at least <paramref name="splitAt"/> bytes
    /// (<see cref="RiverSerializer.TailOf(River.Packet, int)"/>), is left out as <paramref name="tail"/>: the frame is the span returned followed
    /// by the tail's bytes (<see cref="RiverSerializer.BytesOf"/>), so a peer copies the user's array once, where it keeps
    /// the frame, instead of once more into this buffer.
    /// </summary>
    public static ReadOnlySpan<byte> Packet(RiverSerializer serializer, Packet packet, int splitAt, out Array? tail)
    {
        var kind = packet.CheckpointSeq != 0 ? CheckpointedKind : packet.MirrorSeq != 0 ? SequencedKind : PacketKind;
        var buffer = Start(kind);
        if (kind == CheckpointedKind) WriteInt64(buffer, packet.CheckpointSeq);
        if (kind != PacketKind) WriteInt64(buffer, packet.MirrorSeq);
        tail = RiverSerializer.TailOf(packet, splitAt);
        serializer.WritePacket(buffer, packet, tail);
        return buffer.WrittenSpan;
    }

    /// <summary>
    /// A kind 1 frame of the packet these fields make (no trace, no numbers), as <see cref="Packet(RiverSerializer, River.Packet, int, out Array)"/>:
    /// a send that needs no <see cref="River.Packet"/> object.
    /// </summary>
    public static ReadOnlySpan<byte> Packet(RiverSerializer serializer, VrId src, VrId dest, string[] names, object?[] values, int splitAt, out Array? tail)
    {
        var buffer = Start(PacketKind);
        tail = RiverSerializer.TailOf(values, splitAt);
        serializer.WritePacket(buffer, src, dest, names, values, null, tail);
        return buffer.WrittenSpan;
    }

    public static ReadOnlySpan<byte> Control(RiverSerializer serializer, object message)
    {
        var buffer = Start(ControlKind);
        serializer.WriteValue(buffer, message.GetType().Name, message);
        return buffer.WrittenSpan;
    }

    private static void WriteInt64(ArrayBufferWriter<byte> buffer, long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(buffer.GetSpan(sizeof(long)), value);
        buffer.Advance(sizeof(long));
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

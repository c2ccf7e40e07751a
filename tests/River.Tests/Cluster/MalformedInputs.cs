using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using MessagePack;

namespace River.Tests.Cluster;

/// <summary>One malformed input: bytes sent on a fresh connection, before or after a valid handshake (then sealed with the session's MAC unless <paramref name="Unsealed"/>).</summary>
internal sealed record MalformedInput(string Kind, bool AfterHandshake, byte[] Bytes, bool Unsealed = false);

/// <summary>
/// Generates malformed inputs for a VM's listener, reproducibly from a seed. Before the handshake:
/// random bytes, impossible length prefixes, truncated and bit-flipped hellos, a replayed handshake.
/// After it: random frames, truncated frames, lengths past the maximum, unknown frame kinds, and values
/// whose type is outside the allow-list (System.Diagnostics.Process at the top, inside a generic, and
/// nested in an object[]). After it too, without the session's MAC: a well-formed frame, a record with a
/// forged tag, a record length out of range.
/// </summary>
internal sealed class MalformedInputs(int seed, byte[] transcript, int maxFrameSize)
{
    private static readonly string Process = typeof(Process).AssemblyQualifiedName!;

    private readonly Random _random = new(seed);

    // The transcript starts with the dialer's hello frame; the rest is its proof.
    private byte[] Hello => transcript[..(4 + BinaryPrimitives.ReadInt32LittleEndian(transcript))];

    public MalformedInput Next() => _random.Next(16) switch
    {
        13 => new("frame without a MAC", true, Framed(Frames.Control(new RiverSerializer(), new StatusRequest()).ToArray()), Unsealed: true),
        14 => new("record with a forged tag", true, [.. Prefix(2048), .. Bytes(2048 + RecordStream.TagSize)], Unsealed: true),
        15 => new("record length out of range", true, [.. Prefix(OutOfRange(RecordStream.MaxPayload)), .. Bytes(_random.Next(0, 64))], Unsealed: true),
        0 => new("random bytes", false, Bytes(_random.Next(0, 600))),
        1 => new("handshake length out of range", false, [.. Prefix(OutOfRange(4096)), .. Bytes(_random.Next(0, 64))]),
        2 => new("truncated hello", false, Hello[..(_random.Next(1, Hello.Length))]),
        3 => new("bit-flipped hello", false, Flipped(Hello)),
        4 => new("replayed handshake", false, transcript),
        5 => new("random frame", true, Framed(Bytes(_random.Next(1, 2048)))),
        6 => new("truncated frame", true, Truncated(Framed(Bytes(_random.Next(2, 4096))))),
        7 => new("frame length out of range", true, [.. Prefix(OutOfRange(maxFrameSize)), .. Bytes(_random.Next(0, 64))]),
        8 => new("unknown frame kind", true, Framed([(byte)_random.Next(4, 256), .. Bytes(_random.Next(0, 256))])),
        9 => new("random control message", true, Framed([Frames.ControlKind, .. Bytes(_random.Next(0, 512))])),
        10 => new("random packet", true, Framed([Frames.PacketKind, .. Bytes(_random.Next(0, 512))])),
        11 => new("unknown type name", true, Framed([Frames.ControlKind, .. Msgpack((ref MessagePackWriter w) => { w.Write($"No.Such.Type{_random.Next()}, Nowhere"); w.WriteMapHeader(0); })])),
        _ => new("type outside the allow-list", true, Framed(Disallowed())),
    };

    private byte[] Bytes(int n)
    {
        var bytes = new byte[n];
        _random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Prefix(int length)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, length);
        return bytes;
    }

    private int OutOfRange(int max) => _random.Next(5) switch
    {
        0 => 0,
        1 => -_random.Next(1, int.MaxValue),
        2 => int.MinValue,
        3 => int.MaxValue,
        _ => _random.Next(max + 1, int.MaxValue),
    };

    private byte[] Flipped(byte[] bytes)
    {
        var copy = (byte[])bytes.Clone();
        for (var i = _random.Next(1, 4); i > 0; i--) copy[_random.Next(copy.Length)] ^= (byte)(1 << _random.Next(8));
        return copy;
    }

    private byte[] Truncated(byte[] frame) => frame[..(_random.Next(1, frame.Length))];

    private static byte[] Framed(byte[] body) => WireClient.Framed(body);

    // MessagePackWriter is a struct: the body must write through a ref to the one that is flushed.
    internal delegate void WriteBody(ref MessagePackWriter writer);

    internal static byte[] Msgpack(WriteBody write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        write(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    // A value as RiverSerializer writes it: its type name, then its MessagePack body.
    private byte[] Disallowed() => _random.Next(4) switch
    {
        0 => [Frames.ControlKind, .. Msgpack((ref MessagePackWriter w) => { w.Write(Process); w.WriteMapHeader(0); })],
        1 => [Frames.ControlKind, .. Msgpack((ref MessagePackWriter w) => { w.Write($"System.Collections.Generic.List`1[[{Process}]], System.Private.CoreLib"); w.WriteArrayHeader(0); })],
        // An allowed object[] whose element names Process the way MessagePack's typeless format does (extension 100).
        2 => [Frames.ControlKind, .. Msgpack((ref MessagePackWriter w) =>
        {
            w.Write(typeof(object[]).AssemblyQualifiedName);
            w.WriteArrayHeader(1);
            var element = Msgpack((ref MessagePackWriter e) => { e.Write(Process); e.WriteMapHeader(0); });
            w.WriteExtensionFormat(new ExtensionResult(100, element));
        })],
        // A packet (src, dest, one attribute) whose value is a Process.
        _ => [Frames.PacketKind, .. Msgpack((ref MessagePackWriter w) =>
        {
            IdFormatters.WriteGuid(ref w, Guid.NewGuid());
            IdFormatters.WriteGuid(ref w, Guid.NewGuid());
            w.Write(1);
            w.Write("process");
            w.Write(Process);
            w.WriteMapHeader(0);
        })],
    };
}

using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using MessagePack;

namespace River;

/// <summary>
/// Opens every connection: both sides state protocol version, cluster and VM id, and each proves it
/// holds the cluster key by an HMAC over both fresh nonces (the key never travels, and a recorded
/// handshake cannot be replayed against a new nonce). See docs/PROTOCOL.md.
/// </summary>
internal static class Handshake
{
    public sealed record Hello(int Version, string Cluster, VmId Id, byte[] Nonce, string Host, int Port);

    private const string Magic = "RIVER";

    /// <summary>The dialer's side; returns the acceptor's hello or throws <see cref="HandshakeException"/>.</summary>
    public static Hello Dial(Stream stream, ClusterOptions options, Hello mine)
    {
        Write(stream, (ref MessagePackWriter w) => WriteHello(ref w, mine));
        var theirs = ReadHelloOrRefusal(stream);
        CheckCompatible(stream, options, theirs);
        var theirProof = ReadProof(stream);
        if (!CryptographicOperations.FixedTimeEquals(theirProof, Proof(options, "acceptor", mine, theirs)))
            Refuse(stream, "the acceptor does not hold this cluster's key");
        Write(stream, (ref MessagePackWriter w) => WriteProof(ref w, Proof(options, "dialer", theirs, mine)));
        var verdict = ReadArray(stream);
        if (verdict.Tag != "welcome") throw new HandshakeException($"refused by the acceptor: {verdict.Reason}");
        return theirs;
    }

    /// <summary>The acceptor's side; returns the dialer's hello or throws <see cref="HandshakeException"/>.</summary>
    public static Hello Accept(Stream stream, ClusterOptions options, Hello mine)
    {
        var theirs = ReadHelloOrRefusal(stream);
        CheckCompatible(stream, options, theirs);
        Write(stream, (ref MessagePackWriter w) => WriteHello(ref w, mine));
        Write(stream, (ref MessagePackWriter w) => WriteProof(ref w, Proof(options, "acceptor", theirs, mine)));
        var proof = ReadProof(stream);
        if (!CryptographicOperations.FixedTimeEquals(proof, Proof(options, "dialer", mine, theirs)))
            Refuse(stream, "the dialer does not hold this cluster's key");
        Write(stream, (ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(1);
            w.Write("welcome");
        });
        return theirs;
    }

    public static byte[] NewNonce() => RandomNumberGenerator.GetBytes(32);

    // HMAC(key, role | challenger's nonce | prover's nonce | cluster | both ids): bound to this connection's nonces.
    private static byte[] Proof(ClusterOptions options, string role, Hello challenger, Hello prover)
    {
        var text = Encoding.UTF8.GetBytes($"{role}|{options.Name}|{challenger.Id}|{prover.Id}|");
        byte[] message = [.. text, .. challenger.Nonce, .. prover.Nonce];
        return HMACSHA256.HashData(options.EffectiveKey, message);
    }

    private static void CheckCompatible(Stream stream, ClusterOptions options, Hello theirs)
    {
        if (theirs.Version != ClusterOptions.ProtocolVersion)
            Refuse(stream, $"protocol version {theirs.Version} is not {ClusterOptions.ProtocolVersion}");
        if (theirs.Cluster != options.Name)
            Refuse(stream, $"cluster '{theirs.Cluster}' is not '{options.Name}'");
        if (theirs.Nonce.Length != 32) Refuse(stream, "the nonce is not 32 bytes");
    }

    private static void Refuse(Stream stream, string reason)
    {
        try
        {
            Write(stream, (ref MessagePackWriter w) =>
            {
                w.WriteArrayHeader(2);
                w.Write("refuse");
                w.Write(reason);
            });
        }
        catch (IOException)
        {
            // The other side may already be gone; the refusal is logged here either way.
        }
        throw new HandshakeException(reason);
    }

    private static void WriteHello(ref MessagePackWriter w, Hello h)
    {
        w.WriteArrayHeader(7);
        w.Write(Magic);
        w.Write(h.Version);
        w.Write(h.Cluster);
        IdFormatters.WriteGuid(ref w, h.Id.Value);
        w.Write(h.Nonce);
        w.Write(h.Host);
        w.Write(h.Port);
    }

    private static void WriteProof(ref MessagePackWriter w, byte[] proof)
    {
        w.WriteArrayHeader(2);
        w.Write("proof");
        w.Write(proof);
    }

    private static Hello ReadHelloOrRefusal(Stream stream)
    {
        var frame = ReadFrame(stream);
        var r = new MessagePackReader(frame);
        var n = r.ReadArrayHeader();
        var tag = r.ReadString();
        if (tag == "refuse" && n == 2) throw new HandshakeException($"refused by the other side: {r.ReadString()}");
        if (tag != Magic || n != 7) throw new HandshakeException("the other side does not speak the River protocol");
        return new Hello(r.ReadInt32(), r.ReadString() ?? "", new VmId(IdFormatters.ReadGuid(ref r)),
            r.ReadBytes()?.ToArray() ?? [], r.ReadString() ?? "", r.ReadInt32());
    }

    private static byte[] ReadProof(Stream stream)
    {
        var (tag, reason, proof) = ReadArray(stream);
        return tag switch
        {
            "proof" => proof ?? [],
            "refuse" => throw new HandshakeException($"refused by the other side: {reason}"),
            _ => throw new HandshakeException($"expected a proof, got '{tag}'"),
        };
    }

    private static (string? Tag, string? Reason, byte[]? Bytes) ReadArray(Stream stream)
    {
        var r = new MessagePackReader(ReadFrame(stream));
        var n = r.ReadArrayHeader();
        var tag = r.ReadString();
        if (n < 2) return (tag, null, null);
        return r.NextMessagePackType == MessagePackType.Binary ? (tag, null, r.ReadBytes()?.ToArray()) : (tag, r.ReadString(), null);
    }

    private delegate void WriteBody(ref MessagePackWriter writer);

    private static void Write(Stream stream, WriteBody body)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        buffer.Advance(4);
        var w = new MessagePackWriter(buffer);
        body(ref w);
        w.Flush();
        var bytes = buffer.WrittenSpan.ToArray();
        BinaryPrimitives.WriteInt32LittleEndian(bytes, bytes.Length - 4);
        stream.Write(bytes);
        stream.Flush();
    }

    // Handshake frames are small; anything larger than 4 KiB is not a handshake.
    private static ReadOnlyMemory<byte> ReadFrame(Stream stream)
    {
        Span<byte> prefix = stackalloc byte[4];
        stream.ReadExactly(prefix);
        var length = BinaryPrimitives.ReadInt32LittleEndian(prefix);
        if (length is <= 0 or > 4096) throw new HandshakeException($"a handshake frame of {length} bytes");
        var body = new byte[length];
        stream.ReadExactly(body);
        return body;
    }
}

/// <summary>A connection failed to authenticate; the message says why.</summary>
internal sealed class HandshakeException(string message) : Exception(message);

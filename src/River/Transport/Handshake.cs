using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using MessagePack;

namespace River;

/// <summary>
/// Opens every connection: both sides state protocol version, cluster and VM id, and each proves it
/// holds the cluster key by an HMAC over both fresh nonces (the key never travels, and a recorded
/// handshake cannot be replayed against a new nonce). Written asynchronously; the transport runs it
/// over a <see cref="BlockingStream"/> on the connection's own thread. See docs/PROTOCOL.md.
/// </summary>
internal static class Handshake
{
    public sealed record Hello(int Version, string Cluster, VmId Id, byte[] Nonce, string Host, int Port);

    private const string Magic = "RIVER";

    /// <summary>The dialer's side; returns the acceptor's hello or throws <see cref="HandshakeException"/>.</summary>
    public static async Task<Hello> DialAsync(Stream stream, ClusterOptions options, Hello mine, CancellationToken cancel)
    {
        await WriteAsync(stream, HelloFrame(mine), cancel);
        var theirs = await ReadHelloAsync(stream, cancel);
        await CheckCompatibleAsync(stream, options, theirs, cancel);
        var theirProof = await ReadProofAsync(stream, cancel);
        if (!CryptographicOperations.FixedTimeEquals(theirProof, Proof(options, "acceptor", mine, theirs)))
            await RefuseAsync(stream, "the acceptor does not hold this cluster's key", cancel);
        await WriteAsync(stream, ProofFrame(Proof(options, "dialer", theirs, mine)), cancel);
        var (tag, reason, _) = Parse(await ReadFrameAsync(stream, cancel));
        if (tag != "welcome") throw new HandshakeException($"refused by the acceptor: {reason}");
        return theirs;
    }

    /// <summary>The acceptor's side; returns the dialer's hello or throws <see cref="HandshakeException"/>.</summary>
    public static async Task<Hello> AcceptAsync(Stream stream, ClusterOptions options, Hello mine, CancellationToken cancel)
    {
        var theirs = await ReadHelloAsync(stream, cancel);
        await CheckCompatibleAsync(stream, options, theirs, cancel);
        await WriteAsync(stream, [.. HelloFrame(mine), .. ProofFrame(Proof(options, "acceptor", theirs, mine))], cancel);
        var proof = await ReadProofAsync(stream, cancel);
        if (!CryptographicOperations.FixedTimeEquals(proof, Proof(options, "dialer", mine, theirs)))
            await RefuseAsync(stream, "the dialer does not hold this cluster's key", cancel);
        await WriteAsync(stream, Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(1);
            w.Write("welcome");
        }), cancel);
        return theirs;
    }

    public static byte[] NewNonce() => RandomNumberGenerator.GetBytes(32);

    // HMAC(key, role | cluster | challenger id | prover id | challenger's nonce | prover's nonce): bound to this connection's nonces.
    private static byte[] Proof(ClusterOptions options, string role, Hello challenger, Hello prover)
    {
        var text = Encoding.UTF8.GetBytes($"{role}|{options.Name}|{challenger.Id}|{prover.Id}|");
        byte[] message = [.. text, .. challenger.Nonce, .. prover.Nonce];
        return HMACSHA256.HashData(options.EffectiveKey, message);
    }

    private static async Task CheckCompatibleAsync(Stream stream, ClusterOptions options, Hello theirs, CancellationToken cancel)
    {
        if (theirs.Version != ClusterOptions.ProtocolVersion)
            await RefuseAsync(stream, $"protocol version {theirs.Version} is not {ClusterOptions.ProtocolVersion}", cancel);
        if (theirs.Cluster != options.Name)
            await RefuseAsync(stream, $"cluster '{theirs.Cluster}' is not '{options.Name}'", cancel);
        if (theirs.Nonce.Length != 32) await RefuseAsync(stream, "the nonce is not 32 bytes", cancel);
    }

    private static async Task RefuseAsync(Stream stream, string reason, CancellationToken cancel)
    {
        try
        {
            await WriteAsync(stream, Frame((ref MessagePackWriter w) =>
            {
                w.WriteArrayHeader(2);
                w.Write("refuse");
                w.Write(reason);
            }), cancel);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The other side may already be gone; the refusal is logged here either way.
        }
        throw new HandshakeException(reason);
    }

    private static byte[] HelloFrame(Hello h) => Frame((ref MessagePackWriter w) =>
    {
        w.WriteArrayHeader(7);
        w.Write(Magic);
        w.Write(h.Version);
        w.Write(h.Cluster);
        IdFormatters.WriteGuid(ref w, h.Id.Value);
        w.Write(h.Nonce);
        w.Write(h.Host);
        w.Write(h.Port);
    });

    private static byte[] ProofFrame(byte[] proof) => Frame((ref MessagePackWriter w) =>
    {
        w.WriteArrayHeader(2);
        w.Write("proof");
        w.Write(proof);
    });

    private static async Task<Hello> ReadHelloAsync(Stream stream, CancellationToken cancel)
    {
        var frame = await ReadFrameAsync(stream, cancel);
        try
        {
            return ParseHello(frame);
        }
        catch (Exception e) when (e is MessagePackSerializationException or OverflowException or EndOfStreamException or FormatException)
        {
            throw new HandshakeException($"a malformed hello: {e.Message}");
        }
    }

    private static Hello ParseHello(ReadOnlyMemory<byte> frame)
    {
        var r = new MessagePackReader(frame);
        var n = r.ReadArrayHeader();
        var tag = r.ReadString();
        if (tag == "refuse" && n == 2) throw new HandshakeException($"refused by the other side: {r.ReadString()}");
        if (tag != Magic || n != 7) throw new HandshakeException("the other side does not speak the River protocol");
        return new Hello(r.ReadInt32(), r.ReadString() ?? "", new VmId(IdFormatters.ReadGuid(ref r)),
            r.ReadBytes()?.ToArray() ?? [], r.ReadString() ?? "", r.ReadInt32());
    }

    private static async Task<byte[]> ReadProofAsync(Stream stream, CancellationToken cancel)
    {
        var (tag, reason, proof) = Parse(await ReadFrameAsync(stream, cancel));
        return tag switch
        {
            "proof" => proof ?? [],
            "refuse" => throw new HandshakeException($"refused by the other side: {reason}"),
            _ => throw new HandshakeException($"expected a proof, got '{tag}'"),
        };
    }

    private static (string? Tag, string? Reason, byte[]? Bytes) Parse(ReadOnlyMemory<byte> frame)
    {
        try
        {
            var r = new MessagePackReader(frame);
            var n = r.ReadArrayHeader();
            var tag = r.ReadString();
            if (n < 2) return (tag, null, null);
            return r.NextMessagePackType == MessagePackType.Binary ? (tag, null, r.ReadBytes()?.ToArray()) : (tag, r.ReadString(), null);
        }
        catch (Exception e) when (e is MessagePackSerializationException or EndOfStreamException)
        {
            throw new HandshakeException($"a malformed handshake frame: {e.Message}");
        }
    }

    private delegate void WriteBody(ref MessagePackWriter writer);

    private static byte[] Frame(WriteBody body)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        buffer.Advance(4);
        var w = new MessagePackWriter(buffer);
        body(ref w);
        w.Flush();
        var bytes = buffer.WrittenSpan.ToArray();
        BinaryPrimitives.WriteInt32LittleEndian(bytes, bytes.Length - 4);
        return bytes;
    }

    private static async Task WriteAsync(Stream stream, byte[] frames, CancellationToken cancel)
    {
        await stream.WriteAsync(frames, cancel);
        await stream.FlushAsync(cancel);
    }

    // Handshake frames are small; anything larger than 4 KiB is not a handshake.
    private static async Task<ReadOnlyMemory<byte>> ReadFrameAsync(Stream stream, CancellationToken cancel)
    {
        var prefix = new byte[4];
        await stream.ReadExactlyAsync(prefix, cancel);
        var length = BinaryPrimitives.ReadInt32LittleEndian(prefix);
        if (length is <= 0 or > 4096) throw new HandshakeException($"a handshake frame of {length} bytes");
        var body = new byte[length];
        await stream.ReadExactlyAsync(body, cancel);
        return body;
    }
}

/// <summary>A connection failed to authenticate; the message says why.</summary>
internal sealed class HandshakeException(string message) : Exception(message);

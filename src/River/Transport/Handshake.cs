using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using MessagePack;

namespace River;

/// <summary>
/// Opens every connection. Both sides send a hello (protocol version, VM id, a fresh nonce, where they
/// listen); from the cluster key, the cluster name, both hellos and the TLS channel (if any) each derives
/// the connection's secrets with HKDF, proves it holds the key by sending its role's proof, and keeps a
/// key per direction that authenticates every later frame (<see cref="RecordStream"/>). Nothing secret,
/// not even the cluster name, is sent before the other side has proved itself. A relay learns nothing
/// it can use: it cannot make or alter a frame, and with TLS the proofs only match on one TLS channel.
/// Written asynchronously; the transport runs it over a <see cref="BlockingStream"/> on a thread of its
/// own. See docs/PROTOCOL.md and docs/SECURITY.md.
/// </summary>
internal static class Handshake
{
    public sealed record Hello(int Version, VmId Id, byte[] Nonce, string Host, int Port, int Flags = 0);

    /// <summary>What an authenticated connection knows: the other side's hello and the frame keys (null when TLS or plain frames carry them).</summary>
    public sealed record Session(Hello Theirs, byte[]? SendKey, byte[]? ReceiveKey)
    {
        /// <summary>
        /// The stream later frames travel on: records under this connection's keys, or <paramref name="stream"/> itself. Records are
        /// only made without TLS, so <paramref name="socket"/>, when given, is what <paramref name="stream"/> reads and writes as it is.
        /// </summary>
        public Stream Wrap(Stream stream, Socket? socket = null) => SendKey is null ? stream : new RecordStream(stream, SendKey, ReceiveKey, socket);
    }

    /// <summary>Hello flag: frames after the handshake carry no MAC (benchmarks only; both sides must say so).</summary>
    public const int PlainFrames = 1;

    private const string Magic = "RIVER";
    private const int NonceSize = 32, ProofSize = 32;

    /// <summary>
    /// The dialer's side; returns the session or throws <see cref="HandshakeException"/>. <paramref name="binding"/>
    /// is the TLS channel's binding (empty without TLS): both sides must see the same channel. <paramref name="expected"/>
    /// is the VM this dial was meant for, when known: another VM at that address is refused.
    /// </summary>
    public static async Task<Session> DialAsync(Stream stream, ClusterOptions options, Hello mine, byte[] binding, VmId? expected, CancellationToken cancel, Func<VmId, bool>? fenced = null)
    {
        var hello = HelloBody(mine);
        await WriteAsync(stream, Framed(hello), cancel);
        var theirHello = await ReadFrameAsync(stream, cancel);
        var theirs = await CheckAsync(stream, mine, ParseHello(theirHello), fenced, cancel);
        if (expected is { } id && theirs.Id != id)
            await RefuseAsync(stream, $"the VM at this address is {theirs.Id}, not {id}", cancel);
        var secrets = Derive(options, hello, theirHello, binding, mine.Flags);
        if (!CryptographicOperations.FixedTimeEquals(await ReadProofAsync(stream, cancel), secrets.AcceptorProof))
            await RefuseAsync(stream, "the acceptor does not hold this cluster's key (or is of another cluster)", cancel);
        await WriteAsync(stream, ProofFrame(secrets.DialerProof), cancel);
        var (tag, _) = Parse(await ReadFrameAsync(stream, cancel));
        if (tag != "welcome") throw new HandshakeException($"expected a welcome, got '{LogText.Escape(tag)}'");
        return secrets.Session(theirs, dialer: true, binding.Length > 0);
    }

    /// <summary>The acceptor's side; returns the session or throws <see cref="HandshakeException"/>. A VM <paramref name="fenced"/> names is refused as gone.</summary>
    public static async Task<Session> AcceptAsync(Stream stream, ClusterOptions options, Hello mine, byte[] binding, CancellationToken cancel, Func<VmId, bool>? fenced = null)
    {
        var theirHello = await ReadFrameAsync(stream, cancel);
        var theirs = await CheckAsync(stream, mine, ParseHello(theirHello), fenced, cancel);
        var hello = HelloBody(mine);
        var secrets = Derive(options, theirHello, hello, binding, mine.Flags);
        await WriteAsync(stream, [.. Framed(hello), .. ProofFrame(secrets.AcceptorProof)], cancel);
        if (!CryptographicOperations.FixedTimeEquals(await ReadProofAsync(stream, cancel), secrets.DialerProof))
            await RefuseAsync(stream, "the dialer does not hold this cluster's key (or is of another cluster)", cancel);
        await WriteAsync(stream, Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(1);
            w.Write("welcome");
        }), cancel);
        return secrets.Session(theirs, dialer: false, binding.Length > 0);
    }

    public static byte[] NewNonce() => RandomNumberGenerator.GetBytes(NonceSize);

    /// <summary>The hello flags a VM of <paramref name="options"/> sends: plain frames only where a benchmark asked for them.</summary>
    public static int FlagsFor(ClusterOptions options) => options.PlainFrames ? PlainFrames : 0;

    private sealed record Secrets(byte[] DialerProof, byte[] AcceptorProof, byte[] DialerKey, byte[] AcceptorKey, bool Plain)
    {
        public Session Session(Hello theirs, bool dialer, bool tls) =>
            tls || Plain ? new(theirs, null, null)
            : dialer ? new(theirs, DialerKey, AcceptorKey)
            : new(theirs, AcceptorKey, DialerKey);
    }

    /// <summary>
    /// HKDF-SHA256: the cluster key as input, a hash of both hellos (ids, nonces, addresses, flags) as salt,
    /// the cluster name and TLS binding as info; out come both proofs and a frame key per direction.
    /// </summary>
    private static Secrets Derive(ClusterOptions options, byte[] dialerHello, byte[] acceptorHello, byte[] binding, int flags)
    {
        var transcript = new byte[8 + dialerHello.Length + acceptorHello.Length];
        BinaryPrimitives.WriteInt32LittleEndian(transcript, dialerHello.Length);
        dialerHello.CopyTo(transcript, 4);
        BinaryPrimitives.WriteInt32LittleEndian(transcript.AsSpan(4 + dialerHello.Length), acceptorHello.Length);
        acceptorHello.CopyTo(transcript, 8 + dialerHello.Length);
        byte[] info = [.. Encoding.UTF8.GetBytes($"river/{ClusterOptions.ProtocolVersion} {options.Name}\n"), .. binding];
        var keySize = RecordStream.KeySize;
        var okm = HKDF.DeriveKey(HashAlgorithmName.SHA256, options.EffectiveKey, 2 * ProofSize + 2 * keySize, SHA256.HashData(transcript), info);
        return new(okm[..ProofSize], okm[ProofSize..(2 * ProofSize)], okm[(2 * ProofSize)..(2 * ProofSize + keySize)], okm[(2 * ProofSize + keySize)..], (flags & PlainFrames) != 0); // both sides' flags agree (CheckAsync)
    }

    private static async Task<Hello> CheckAsync(Stream stream, Hello mine, Hello theirs, Func<VmId, bool>? fenced, CancellationToken cancel)
    {
        if (fenced?.Invoke(theirs.Id) == true)
            await RefuseAsync(stream, $"VM {theirs.Id} was declared gone; it may take part again only as a new VM", cancel, FencedCode);
        if (theirs.Version != ClusterOptions.ProtocolVersion)
            await RefuseAsync(stream, $"protocol version {theirs.Version} is not {ClusterOptions.ProtocolVersion}", cancel);
        if (theirs.Nonce.Length != NonceSize) await RefuseAsync(stream, $"the nonce is not {NonceSize} bytes", cancel);
        if (theirs.Flags != mine.Flags)
            await RefuseAsync(stream, (theirs.Flags & PlainFrames) != 0 ? "the other side wants frames without a MAC" : "this side wants frames without a MAC", cancel);
        return theirs;
    }

    // A refusal's code when the other VM was declared gone: it must end its VRs and rejoin as a new VM.
    private const string FencedCode = "fenced";

    private static async Task RefuseAsync(Stream stream, string reason, CancellationToken cancel, string? code = null)
    {
        try
        {
            await WriteAsync(stream, Frame((ref MessagePackWriter w) =>
            {
                w.WriteArrayHeader(code is null ? 2 : 3);
                w.Write("refuse");
                w.Write(reason);
                if (code is not null) w.Write(code);
            }), cancel);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The other side may already be gone; the refusal is logged here either way.
        }
        throw new HandshakeException(reason);
    }

    /// <summary>The other side's refusal, read from a frame whose tag was "refuse".</summary>
    private static HandshakeException Refused(ref MessagePackReader r, int fields)
    {
        var reason = LogText.Escape(r.ReadString());
        var code = fields >= 3 ? r.ReadString() : null;
        return new HandshakeException($"refused by the other side: {reason}", fenced: code == FencedCode);
    }

    private static byte[] HelloBody(Hello h)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        var w = new MessagePackWriter(buffer);
        w.WriteArrayHeader(7);
        w.Write(Magic);
        w.Write(h.Version);
        IdFormatters.WriteGuid(ref w, h.Id.Value);
        w.Write(h.Nonce);
        w.Write(h.Host);
        w.Write(h.Port);
        w.Write(h.Flags);
        w.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] ProofFrame(byte[] proof) => Frame((ref MessagePackWriter w) =>
    {
        w.WriteArrayHeader(2);
        w.Write("proof");
        w.Write(proof);
    });

    private static Hello ParseHello(byte[] frame)
    {
        try
        {
            var r = new MessagePackReader(frame);
            var n = r.ReadArrayHeader();
            var tag = r.ReadString();
            if (tag == "refuse" && n >= 2) throw Refused(ref r, n);
            if (tag != Magic) throw new HandshakeException("the other side does not speak the River protocol");
            var version = r.ReadInt32();
            if (version != ClusterOptions.ProtocolVersion || n != 7) return new Hello(version, default, [], "", 0);
            return new Hello(version, new VmId(IdFormatters.ReadGuid(ref r)), r.ReadBytes()?.ToArray() ?? [], r.ReadString() ?? "", r.ReadInt32(), r.ReadInt32());
        }
        catch (Exception e) when (e is MessagePackSerializationException or OverflowException or EndOfStreamException or FormatException)
        {
            throw new HandshakeException($"a malformed hello: {LogText.Escape(e.Message)}");
        }
    }

    private static async Task<byte[]> ReadProofAsync(Stream stream, CancellationToken cancel)
    {
        var (tag, proof) = Parse(await ReadFrameAsync(stream, cancel));
        return tag == "proof" ? proof ?? [] : throw new HandshakeException($"expected a proof, got '{LogText.Escape(tag)}'");
    }

    /// <summary>A handshake frame's tag and binary value; a refusal throws.</summary>
    private static (string? Tag, byte[]? Bytes) Parse(byte[] frame)
    {
        try
        {
            var r = new MessagePackReader(frame);
            var n = r.ReadArrayHeader();
            var tag = r.ReadString();
            if (tag == "refuse" && n >= 2) throw Refused(ref r, n);
            if (n < 2) return (tag, null);
            return (tag, r.NextMessagePackType == MessagePackType.Binary ? r.ReadBytes()?.ToArray() : null);
        }
        catch (Exception e) when (e is MessagePackSerializationException or EndOfStreamException)
        {
            throw new HandshakeException($"a malformed handshake frame: {LogText.Escape(e.Message)}");
        }
    }

    private delegate void WriteBody(ref MessagePackWriter writer);

    private static byte[] Frame(WriteBody body)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        var w = new MessagePackWriter(buffer);
        body(ref w);
        w.Flush();
        return Framed(buffer.WrittenSpan);
    }

    private static byte[] Framed(ReadOnlySpan<byte> body)
    {
        var bytes = new byte[4 + body.Length];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, body.Length);
        body.CopyTo(bytes.AsSpan(4));
        return bytes;
    }

    private static async Task WriteAsync(Stream stream, byte[] frames, CancellationToken cancel)
    {
        await stream.WriteAsync(frames, cancel);
        await stream.FlushAsync(cancel);
    }

    // Handshake frames are small; anything larger than 4 KiB is not a handshake.
    private static async Task<byte[]> ReadFrameAsync(Stream stream, CancellationToken cancel)
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

/// <summary>A connection failed to authenticate; the message says why. <see cref="Fenced"/>: the other side declared this VM gone.</summary>
internal sealed class HandshakeException(string message, bool fenced = false) : Exception(message)
{
    public bool Fenced { get; } = fenced;
}

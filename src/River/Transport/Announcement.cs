using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using MessagePack;

namespace River;

/// <summary>
/// A signed multicast announcement: <c>["river-vm", version, clusterTag, id, host, port, unixMs]</c> in
/// MessagePack, then an HMAC-SHA256 of those bytes under a key derived from the cluster key and name.
/// The tag (keyed, so it says nothing of the name) lets a VM skip other clusters' announcements quietly;
/// a wrong MAC, a time more than <see cref="MaxSkew"/> off, or a time not after the last one from that
/// VM (a replay) is rejected.
/// </summary>
internal sealed class Announcement
{
    public static readonly TimeSpan MaxSkew = TimeSpan.FromSeconds(30);

    private const string Magic = "river-vm";
    private const int MacSize = 32;

    private readonly byte[] _key;
    private readonly byte[] _tag;
    private readonly ConcurrentDictionary<VmId, long> _last = new();

    public Announcement(ClusterOptions options)
    {
        _key = HKDF.DeriveKey(HashAlgorithmName.SHA256, options.EffectiveKey, 32, [],
            Encoding.UTF8.GetBytes($"river/{ClusterOptions.ProtocolVersion} announce {options.Name}"));
        _tag = HMACSHA256.HashData(_key, "cluster"u8)[..8];
    }

    public abstract record Result;

    public sealed record Verified(VmId Id, string Host, int Port) : Result;

    public sealed record Rejected(string Reason) : Result;

    /// <summary>Not a River announcement of this cluster: ignored without a word.</summary>
    public sealed record Foreign : Result;

    public byte[] Sign(VmId id, string host, int port, long? unixMs = null)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        var w = new MessagePackWriter(buffer);
        w.WriteArrayHeader(7);
        w.Write(Magic);
        w.Write(ClusterOptions.ProtocolVersion);
        w.Write(_tag);
        IdFormatters.WriteGuid(ref w, id.Value);
        w.Write(host);
        w.Write(port);
        w.Write(unixMs ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        w.Flush();
        var body = buffer.WrittenSpan;
        return [.. body, .. HMACSHA256.HashData(_key, body)];
    }

    public Result Verify(byte[] datagram)
    {
        if (datagram.Length <= MacSize || datagram.Length > 1024) return new Foreign();
        var body = datagram.AsMemory(0, datagram.Length - MacSize);
        try
        {
            var r = new MessagePackReader(body);
            if (r.ReadArrayHeader() != 7 || r.ReadString() != Magic || r.ReadInt32() != ClusterOptions.ProtocolVersion) return new Foreign();
            if (r.ReadBytes() is not { } tag || !tag.FirstSpan.SequenceEqual(_tag)) return new Foreign();
            if (!CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(_key, body.Span), datagram.AsSpan(body.Length)))
                return new Rejected("the signature does not match this cluster's key");
            var id = new VmId(IdFormatters.ReadGuid(ref r));
            var host = r.ReadString() ?? "";
            var port = r.ReadInt32();
            var sent = r.ReadInt64();
            if (Math.Abs(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - sent) > MaxSkew.TotalMilliseconds)
                return new Rejected($"sent at {sent} (Unix ms), more than {MaxSkew.TotalSeconds:0} s from this VM's clock");
            var last = _last.GetOrAdd(id, long.MinValue);
            if (sent <= last || !_last.TryUpdate(id, sent, last)) return new Rejected($"a replay of VM {id}'s announcement");
            return port is > 0 and <= 65535 ? new Verified(id, host, port) : new Rejected($"port {port}");
        }
        catch (Exception e) when (e is MessagePackSerializationException or EndOfStreamException or OverflowException or FormatException)
        {
            return new Foreign();
        }
    }
}

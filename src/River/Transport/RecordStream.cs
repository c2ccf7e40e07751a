using System.Buffers.Binary;
using System.Net.Sockets;
using NSec.Cryptography;

namespace River;

/// <summary>
/// Authenticates every byte a connection carries after the handshake, when TLS does not: the bytes go
/// in records, <c>[length u32 LE][payload][tag 32]</c>, each tag an AEGIS-128L MAC of the payload under
/// the connection's own key for that direction and the record's sequence number as nonce. An injected,
/// replayed, reordered or dropped record fails its tag, and the connection is closed
/// (<see cref="RecordAuthenticationException"/>). A record is verified before any of its bytes are
/// handed out; a large read gets the payload straight into the caller's buffer.
/// </summary>
internal sealed class RecordStream : Stream
{
    public const int HeaderSize = 4, TagSize = 32;

    /// <summary>Records carry at most this much; a length outside 1..this is refused before anything is buffered.</summary>
    public const int MaxPayload = 256 * 1024;

    // Small records are gathered into one write; bigger ones are written as they are, without a copy.
    private const int GatherLimit = 32 * 1024;

    // A record this big that has not all arrived is read into the caller's buffer, not this one (smaller ones: one copy is cheaper than two reads).
    private const int DirectRead = 64 * 1024;

    // A read asks for what the record misses or this much, whichever is more, however big the buffer grew for a whole
    // record: else the records of a big value behind a frame's head land here and are copied out twice (here, then the
    // connection's buffer) instead of read straight into the value's array.
    private const int ReadAhead = 64 * 1024;

    private static readonly AeadAlgorithm Mac = AeadAlgorithm.Aegis128L;

    private readonly Stream _inner;
    private readonly Key _sendKey, _receiveKey;
    private ulong _sent, _received;

    // Read side: bytes [_at, _end) of _raw came from the socket; [_plainAt, _plainEnd) are a verified payload not yet handed out.
    private byte[] _raw = new byte[64 * 1024];
    private int _at, _end, _plainAt, _plainEnd;

    // Write side: small records are assembled here.
    private readonly byte[] _staging = new byte[GatherLimit + HeaderSize + TagSize];

    // The socket under _inner, when _inner is nothing but that socket's stream: big writes go to it in one gathered send.
    private readonly Socket? _socket;

    // A big write's records: each one's header and tag here, its payload sealed where it lies in the caller's array.
    private byte[] _edges = [];
    private readonly List<ArraySegment<byte>> _segments = [];

    /// <param name="inner">The connection's stream.</param>
    /// <param name="sendKey">This direction's frame key.</param>
    /// <param name="receiveKey">The other direction's.</param>
    /// <param name="socket">The socket <paramref name="inner"/> reads and writes as it is (no TLS), for gathered writes; or null.</param>
    public RecordStream(Stream inner, ReadOnlySpan<byte> sendKey, ReadOnlySpan<byte> receiveKey, Socket? socket = null)
    {
        _inner = inner;
        _socket = socket;
        _sendKey = Key.Import(Mac, sendKey, KeyBlobFormat.RawSymmetricKey);
        _receiveKey = Key.Import(Mac, receiveKey, KeyBlobFormat.RawSymmetricKey);
    }

    /// <summary>The key length each direction needs.</summary>
    public static int KeySize => Mac.KeySize;

    /// <summary>Verified bytes waiting to be read.</summary>
    private int Buffered => _plainEnd - _plainAt;

    /// <summary>
    /// True when a read returns at once without touching the socket: verified bytes, or a whole record, wait here.
    /// Threads that do not hold the read look at it (to decide whether to take it): the reading thread publishes it
    /// after each read, so they never read the buffer while it changes.
    /// </summary>
    public bool HasReadable => _readable;

    private volatile bool _readable;

    private bool ReadableNow => Buffered > 0 || WholeRecord(out _);

    /// <summary>Publishes <see cref="HasReadable"/> as this read leaves the buffer, and returns <paramref name="n"/>.</summary>
    private int Published(int n)
    {
        var have = _end - _at;
        // A bad length counts as readable: the next read throws for it on the reading thread.
        _readable = Buffered > 0 || (have >= HeaderSize
            && BinaryPrimitives.ReadInt32LittleEndian(_raw.AsSpan(_at)) is var length
            && (length is < 1 or > MaxPayload || have - HeaderSize - TagSize >= length));
        return n;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <summary>Blocks until a whole record has arrived and been verified; 0 at the end of the stream.</summary>
    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty) return 0;
        if (ReadableNow) return Published(HandOutAll(buffer));
        // A read big enough for any record takes only the header first, so the payload goes straight to the caller (a big value's own array).
        if (!Fill(HeaderSize, exact: buffer.Length >= MaxPayload)) return Published(0);
        var length = PayloadLength();
        if (length >= DirectRead && buffer.Length >= length && _end - _at < HeaderSize + length)
        {
            // A large record for a large read: the payload goes straight into the caller's buffer, then its tag is checked there.
            var have = _end - _at - HeaderSize;
            _raw.AsSpan(_at + HeaderSize, have).CopyTo(buffer);
            _at = _end = 0;
            _inner.ReadExactly(buffer[have..length]);
            Span<byte> tag = stackalloc byte[TagSize];
            _inner.ReadExactly(tag);
            Verify(buffer[..length], tag);
            return Published(length);
        }
        if (!Fill(HeaderSize + length + TagSize)) throw new EndOfStreamException("the connection ended inside a record");
        return Published(HandOutAll(buffer));
    }

    /// <summary>
    /// Never blocks: takes in the <paramref name="available"/> bytes the socket holds and hands out what
    /// a complete record verified; 0 when no record is complete yet.
    /// </summary>
    public int ReadAvailable(Span<byte> buffer, int available)
    {
        if (ReadableNow) return Published(HandOutAll(buffer));
        if (available > 0)
        {
            var take = Math.Min(available, HeaderSize + MaxPayload + TagSize);
            Reserve(_end - _at + take);
            _end += _inner.Read(_raw.AsSpan(_end, take));
        }
        return Published(HandOutAll(buffer));
    }

    /// <summary>True when a whole record waits at <c>_at</c>; its payload's <paramref name="length"/>.</summary>
    private bool WholeRecord(out int length)
    {
        length = 0;
        var have = _end - _at;
        if (have < HeaderSize) return false;
        length = PayloadLength();
        return have - HeaderSize - TagSize >= length;
    }

    /// <summary>Hands out verified bytes, opening the whole records already read, until the buffer is full or none is left.</summary>
    private int HandOutAll(Span<byte> buffer)
    {
        var n = 0;
        while (n < buffer.Length)
        {
            if (Buffered == 0)
            {
                if (!WholeRecord(out var length)) break;
                Open(length);
            }
            n += HandOut(buffer[n..]);
        }
        return n;
    }

    private int PayloadLength()
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(_raw.AsSpan(_at));
        return length is >= 1 and <= MaxPayload
            ? length
            : throw new RecordAuthenticationException($"a record claims {length} bytes, outside 1..{MaxPayload}");
    }

    /// <summary>Verifies the whole record at <c>_at</c> and makes its payload the verified bytes to hand out.</summary>
    private void Open(int length)
    {
        var payload = _at + HeaderSize;
        Verify(_raw.AsSpan(payload, length), _raw.AsSpan(payload + length, TagSize));
        _plainAt = payload;
        _plainEnd = payload + length;
        _at = _plainEnd + TagSize;
    }

    private int HandOut(Span<byte> buffer)
    {
        var n = Math.Min(buffer.Length, Buffered);
        _raw.AsSpan(_plainAt, n).CopyTo(buffer);
        _plainAt += n;
        return n;
    }

    private void Verify(ReadOnlySpan<byte> payload, ReadOnlySpan<byte> tag)
    {
        Span<byte> nonce = stackalloc byte[Mac.NonceSize];
        Nonce(nonce, _received++);
        if (!Mac.Decrypt(_receiveKey, nonce, payload, tag, []))
            throw new RecordAuthenticationException("a record failed authentication (injected, replayed or reordered bytes)");
    }

    /// <summary>Reads until <paramref name="count"/> bytes from <c>_at</c> are in (<paramref name="exact"/>: no more); false at the end of the stream.</summary>
    private bool Fill(int count, bool exact = false)
    {
        Reserve(count);
        while (_end - _at < count)
        {
            var missing = count - (_end - _at);
            var n = _inner.Read(_raw.AsSpan(_end, exact ? missing : Math.Min(_raw.Length - _end, Math.Max(missing, ReadAhead))));
            if (n == 0) return false;
            _end += n;
        }
        return true;
    }

    /// <summary>Makes room for <paramref name="count"/> bytes from <c>_at</c> (the verified payload before it is handed out already).</summary>
    private void Reserve(int count)
    {
        if (_at == _end) _at = _end = 0;
        if (_raw.Length - _at >= count) return;
        var target = count > _raw.Length ? new byte[Math.Max(count, _raw.Length * 2)] : _raw;
        Buffer.BlockCopy(_raw, _at, target, 0, _end - _at);
        _end -= _at;
        _at = 0;
        _raw = target;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer, offset, count, offset);

    /// <summary>
    /// Writes <paramref name="count"/> bytes of <paramref name="buffer"/>; past the gathering limit without a copy: each record
    /// is sealed where its payload lies, and all go in one gathered send (header, payload, tag, header, ...). A record ends at
    /// <paramref name="cut"/>, where a big value starts: the reader then gets the frame's head in a record of its own, and
    /// reads the value's records straight into the value's array. A non-empty <paramref name="tail"/> is that value, not yet
    /// in <paramref name="buffer"/>: each of its records is copied in just before it is sealed (one pass over bytes still in
    /// the cache), and <paramref name="filled"/> is called once all are in, whatever happens, before anything is sent.
    /// </summary>
    public void Write(byte[] buffer, int offset, int count, int cut, ReadOnlySpan<byte> tail = default, Action? filled = null)
    {
        try
        {
            if (count > GatherLimit)
            {
                int Records(int length) => (length + MaxPayload - 1) / MaxPayload;
                var records = Records(cut - offset) + Records(offset + count - cut);
                if (_edges.Length < records * Edge) _edges = new byte[records * Edge];
                _segments.Clear();
                SealInPlace(buffer, offset, cut - offset, []);
                SealInPlace(buffer, cut, offset + count - cut, tail);
                tail = [];
            }
        }
        finally
        {
            // What was not copied in on the way (a small write, or a key disposed by a racing close) is, before anyone is told.
            tail.CopyTo(buffer.AsSpan(cut));
            filled?.Invoke();
        }
        if (count > GatherLimit) Send(_segments);
        else Write(buffer.AsSpan(offset, count));
    }

    private const int Edge = HeaderSize + TagSize;

    /// <summary>
    /// Seals <paramref name="count"/> bytes from <paramref name="offset"/> in place as records, adding their segments to send;
    /// each record's bytes copied from <paramref name="source"/> first, unless it is empty.
    /// </summary>
    private void SealInPlace(byte[] buffer, int offset, int count, ReadOnlySpan<byte> source)
    {
        for (var at = offset; at < offset + count; at += MaxPayload)
        {
            var length = Math.Min(MaxPayload, offset + count - at);
            var edgeAt = _segments.Count / 3 * Edge;
            var edge = _edges.AsSpan(edgeAt, Edge);
            if (!source.IsEmpty) source.Slice(at - offset, length).CopyTo(buffer.AsSpan(at, length));
            BinaryPrimitives.WriteInt32LittleEndian(edge, length);
            Seal(buffer.AsSpan(at, length), edge[HeaderSize..]);
            _segments.Add(new(_edges, edgeAt, HeaderSize));
            _segments.Add(new(buffer, at, length));
            _segments.Add(new(_edges, edgeAt + HeaderSize, TagSize));
        }
    }

    /// <summary>Sends every byte of <paramref name="segments"/>: one gathered send to the socket (repeated for what a short one left), else one write each.</summary>
    private void Send(List<ArraySegment<byte>> segments)
    {
        if (_socket is null)
        {
            foreach (var segment in segments) _inner.Write(segment);
            return;
        }
        while (segments.Count > 0)
        {
            var sent = _socket.Send(segments);
            var done = 0;
            while (done < segments.Count && sent >= segments[done].Count) sent -= segments[done++].Count;
            segments.RemoveRange(0, done);
            if (segments.Count > 0) segments[0] = segments[0][sent..];
        }
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        var staged = 0;
        Span<byte> header = stackalloc byte[HeaderSize];
        Span<byte> tag = stackalloc byte[TagSize];
        while (!buffer.IsEmpty)
        {
            var payload = buffer[..Math.Min(buffer.Length, MaxPayload)];
            buffer = buffer[payload.Length..];
            if (payload.Length <= GatherLimit)
            {
                if (staged + HeaderSize + payload.Length + TagSize > _staging.Length)
                {
                    _inner.Write(_staging.AsSpan(0, staged));
                    staged = 0;
                }
                var record = _staging.AsSpan(staged);
                BinaryPrimitives.WriteInt32LittleEndian(record, payload.Length);
                payload.CopyTo(record[HeaderSize..]);
                Seal(payload, record.Slice(HeaderSize + payload.Length, TagSize));
                staged += HeaderSize + payload.Length + TagSize;
                continue;
            }
            if (staged > 0) _inner.Write(_staging.AsSpan(0, staged));
            staged = 0;
            BinaryPrimitives.WriteInt32LittleEndian(header, payload.Length);
            Seal(payload, tag);
            _inner.Write(header);
            _inner.Write(payload);
            _inner.Write(tag);
        }
        if (staged > 0) _inner.Write(_staging.AsSpan(0, staged));
    }

    private void Seal(ReadOnlySpan<byte> payload, Span<byte> tag)
    {
        Span<byte> nonce = stackalloc byte[Mac.NonceSize];
        Nonce(nonce, _sent++);
        Mac.Encrypt(_sendKey, nonce, payload, [], tag);
    }

    private static void Nonce(Span<byte> nonce, ulong sequence)
    {
        nonce.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(nonce, sequence);
    }

    public override void Flush() => _inner.Flush();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
            _sendKey.Dispose();
            _receiveKey.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>Bytes on an authenticated connection were not what the other side sealed; the connection is closed.</summary>
internal sealed class RecordAuthenticationException(string message) : IOException(message);

using System.Buffers.Binary;

namespace River;

/// <summary>
/// The link to one remote VM; outlives the TCP connections under it, so frames sent while a
/// connection is re-opened wait here instead of being lost. Frames are length-prefixed and
/// appended to one buffer: a lone frame is written at once by the sending thread, while under load
/// whichever thread is writing takes everything queued in one write (coalescing). Senders wait when
/// the buffer passes its limit (back-pressure); transport threads never wait or write themselves,
/// so two VMs flooding each other cannot deadlock.
/// </summary>
internal sealed class PeerLink(VmId remoteId, TcpTransport transport) : IPeer
{
    [ThreadStatic] internal static bool t_isTransportThread;

    private readonly Lock _lock = new();
    private readonly ManualResetEventSlim _drained = new(true);
    private byte[] _pending = new byte[64 * 1024], _spare = new byte[64 * 1024];
    private int _pendingLength;
    private bool _writing, _closed, _held;
    private TcpConnection? _connection;

    public VmId RemoteId { get; } = remoteId;

    public TcpConnection? Connection => _connection;

    public long LastSent;

    private const int DirectWriteSize = 256 * 1024;

    /// <summary>When anything last arrived from the remote VM (the failure detector reads it).</summary>
    public long LastHeard = Environment.TickCount64;

    public void Send(ReadOnlySpan<byte> frame, bool corkable = false)
    {
        if (frame.Length > transport.Options.MaxFrameSize)
            throw new ArgumentException($"A frame of {frame.Length} bytes exceeds the cluster's maximum frame size of {transport.Options.MaxFrameSize} bytes.");
        bool write = false, wait, hold = false, newlyHeld = false;
        TcpConnection? direct = null;
        lock (_lock)
        {
            if (_closed) return;
            if (frame.Length >= DirectWriteSize && !_writing && _pendingLength == 0 && !t_isTransportThread && _connection is { } c)
            {
                // A big frame on an idle link goes straight from the serializer's buffer to the socket: one copy less.
                _writing = true;
                direct = c;
            }
            else Append(frame);
            if (!_writing && _connection is not null)
            {
                hold = corkable && _pendingLength < Corking.HoldLimit;
                if (!hold) write = _writing = true;
                else if (!_held) newlyHeld = _held = true;
            }
            wait = !t_isTransportThread && _pendingLength > transport.Options.SendBufferLimit;
            if (wait) _drained.Reset();
        }
        if (direct is not null)
        {
            Span<byte> prefix = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(prefix, frame.Length);
            if (direct.Write(prefix) && direct.Write(frame)) Volatile.Write(ref LastSent, Environment.TickCount64);
            WriteLoop(); // what others queued meanwhile, after this frame
            return;
        }
        if (hold) Corking.Note(this, newlyHeld);
        if (write)
        {
            if (t_isTransportThread) ThreadPool.UnsafeQueueUserWorkItem(static l => l.WriteLoop(), this, preferLocal: false);
            else WriteLoop();
        }
        else if (wait) _drained.Wait();
    }

    /// <summary>Writes out frames held back by <see cref="Corking"/>, on the calling thread.</summary>
    public void Flush()
    {
        lock (_lock)
        {
            _held = false;
            if (_writing || _pendingLength == 0 || _connection is null) return;
            _writing = true;
        }
        WriteLoop();
    }

    /// <summary>Makes <paramref name="connection"/> carry this link's frames, starting with any that waited.</summary>
    public void Attach(TcpConnection connection)
    {
        bool write;
        lock (_lock)
        {
            _connection = connection;
            write = !_writing && _pendingLength > 0;
            if (write) _writing = true;
        }
        if (write) ThreadPool.UnsafeQueueUserWorkItem(static l => l.WriteLoop(), this, preferLocal: false);
    }

    public void Detach(TcpConnection connection)
    {
        lock (_lock)
            if (_connection == connection) _connection = null;
    }

    /// <summary>Waits until everything sent so far has been written (used before a VM stops).</summary>
    public void WaitDrained(TimeSpan limit)
    {
        var deadline = Environment.TickCount64 + (long)limit.TotalMilliseconds;
        while (Environment.TickCount64 < deadline)
        {
            lock (_lock)
                if ((_pendingLength == 0 && !_writing) || _connection is null) return;
            Thread.Yield();
        }
    }

    /// <summary>Drops the link and whatever still waited in it; returns the bytes dropped.</summary>
    public int Close()
    {
        lock (_lock)
        {
            _closed = true;
            var dropped = _pendingLength;
            _pendingLength = 0;
            _connection = null;
            _drained.Set();
            return dropped;
        }
    }

    private void Append(ReadOnlySpan<byte> frame)
    {
        var needed = _pendingLength + 4 + frame.Length;
        if (needed > _pending.Length) Array.Resize(ref _pending, Math.Max(needed, _pending.Length * 2));
        BinaryPrimitives.WriteInt32LittleEndian(_pending.AsSpan(_pendingLength), frame.Length);
        frame.CopyTo(_pending.AsSpan(_pendingLength + 4));
        _pendingLength = needed;
    }

    private void WriteLoop()
    {
        while (true)
        {
            byte[] chunk;
            int length;
            TcpConnection? connection;
            lock (_lock)
            {
                connection = _connection;
                if (_pendingLength == 0 || connection is null)
                {
                    _writing = false;
                    _drained.Set();
                    return;
                }
                chunk = _pending;
                _pending = _spare;
                length = _pendingLength;
                _pendingLength = 0;
                _drained.Set();
            }
            if (!connection.Write(chunk.AsSpan(0, length)))
            {
                lock (_lock) _writing = false; // the connection failed; its reader reports it, frames written are lost with it
                return;
            }
            Volatile.Write(ref LastSent, Environment.TickCount64);
            if (chunk.Length > 16 << 20) chunk = new byte[64 * 1024]; // keep a buffer that big values need, not a huge one
            lock (_lock) _spare = chunk;
        }
    }
}

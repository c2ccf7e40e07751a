using System.Buffers.Binary;
using System.Diagnostics;

namespace River;

/// <summary>
/// The link to one remote VM; outlives the TCP connections under it, so nothing sent is lost while a
/// connection is re-opened. Frames are length-prefixed and appended to one buffer: a lone frame is
/// written at once by the sending thread, while under load whichever thread is writing takes everything
/// queued in one write (coalescing). Packets and control messages are numbered in the order sent and
/// kept after they are written until the remote VM acknowledges them; a new connection starts with each
/// side saying how many it has received (<c>resume</c>), and what the other did not get is written again,
/// once and in order. Senders wait while queued and unacknowledged bytes pass the limit (back-pressure);
/// transport threads never wait, and write only what the socket has room for, so two VMs flooding each
/// other cannot deadlock.
/// </summary>
internal sealed class PeerLink(VmId remoteId, TcpTransport transport) : IPeer
{
    [ThreadStatic] internal static bool t_isTransportThread;

    private readonly Lock _lock = new();
    private readonly ManualResetEventSlim _space = new(true);
    private byte[] _pending = new byte[64 * 1024];
    private int _pendingLength;

    // Where the first big value queued in _pending starts (0: none), for the record layer to end a record there.
    private int _cut;
    private bool _writing, _closed, _held, _resumed;
    private long _heldSince; // when the hold began (Stopwatch timestamp)
    private TcpConnection? _connection;

    private int _flusherQueued; // 1 while the link waits in Corking's queue for the flusher: queued once, not once per hold

    /// <summary>True when the link was not yet waiting for the flusher and now is (<see cref="Corking.Later"/> queues it then).</summary>
    public bool QueueForFlusher() => Interlocked.Exchange(ref _flusherQueued, 1) == 0;

    /// <summary>The flusher took the link from its queue: a hold begun after this queues it again.</summary>
    public void TakenByFlusher() => Volatile.Write(ref _flusherQueued, 0);

    // Numbered frames (packets and control messages) from 1: the last appended, the last taken for writing,
    // and those written but not yet acknowledged, kept in the buffers they were written from.
    private long _appended, _written, _acked;
    private readonly Queue<(ArraySegment<byte> Bytes, long Last)> _unacked = new();

    // Small writes are copied into this log and written from there, so one 64 KiB buffer keeps hundreds of them
    // until they are acknowledged (every 1,024 frames): a ping-pong then does not hold, and allocate, a buffer per write.
    // A corked stream's writes (16 KiB, Corking.HoldLimit) too: else each took a 64 KiB buffer for 16 KiB, more than the
    // spares while acknowledgements lag, and the fresh arrays' page faults cost a small packet more than the copy does.
    private byte[] _log = [];
    private int _logLength;
    private const int LogLimit = 2 * Corking.HoldLimit;
    private long _unackedBytes;
    private readonly List<byte[]> _spares = [];

    public VmId RemoteId { get; } = remoteId;

    public TcpConnection? Connection => _connection;

    public long LastSent;

    /// <summary>What arrives from the remote VM, and how long a silence of it is suspect.</summary>
    public PhiAccrualDetector Detector { get; } = new(transport.Options, Environment.TickCount64);

    /// <summary>When the remote VM was suspected (silent past what its detector allows, or its process gone), within the grace period; 0 while it is not. It is back once heard after that.</summary>
    public long SuspectedAt;

    /// <summary>True while the remote VM is suspected.</summary>
    public bool Suspected => Volatile.Read(ref SuspectedAt) != 0;

    /// <summary>Since when every re-dial found nothing listening at the remote VM's address (its process is gone); 0 otherwise.</summary>
    public long ClosedSince;

    /// <summary>Numbered frames received from the remote VM and handed to this VM (by whoever holds the connection's read token).</summary>
    public long Received;

    private long _receivedAcked, _bytesSinceAck, _bytesSent, _bytesReceived, _totalSent, _totalReceived;

    /// <summary>Numbered frames queued or written to the remote VM (a metric).</summary>
    public long FramesSent => Volatile.Read(ref _appended);

    /// <summary>Numbered frames received from the remote VM (a metric).</summary>
    public long FramesReceived => Volatile.Read(ref Received);

    /// <summary>Bytes of numbered frames sent (a metric).</summary>
    public long BytesSent => Volatile.Read(ref _bytesSent);

    /// <summary>Bytes of numbered frames received (a metric).</summary>
    public long BytesReceived => Volatile.Read(ref _bytesReceived);

    /// <summary>Bytes of every frame queued or written, heartbeats, acknowledgements and resumes included, each with its length (a metric).</summary>
    public long TotalBytesSent => Volatile.Read(ref _totalSent);

    /// <summary>Bytes of every frame received, as <see cref="TotalBytesSent"/> counts them (a metric).</summary>
    public long TotalBytesReceived => Volatile.Read(ref _totalReceived);

    /// <summary>The link as metrics name it: connected, suspected (silent past the failure timeout), or down (no connection).</summary>
    public string State => Suspected ? "suspected" : _connection is null ? "down" : "connected";

    // An acknowledgement goes back after this many frames or bytes, and on every heartbeat tick.
    private const int AckFrames = 1024, AckBytes = 1 << 20;

    /// <summary>True for the frames that are numbered, acknowledged and sent again after a reconnect.</summary>
    public static bool IsNumbered(byte kind) => Frames.IsPacket(kind) || kind == Frames.ControlKind;

    /// <summary>
    /// A packet frame that ends in an array of numbers this big (<see cref="RiverSerializer.TailOf(Packet, int)"/>) comes in two parts (<see cref="IPeer.Send(ReadOnlySpan{byte}, ReadOnlySpan{byte}, bool)"/>):
    /// the value's bytes are copied once, from the sender's array into the buffer the link writes from and keeps until
    /// the frame is acknowledged, not first into the serializer's buffer as well.
    /// </summary>
    public const int SplitSize = 64 * 1024;

    public bool Send(ReadOnlySpan<byte> frame, bool corkable = false) => Enqueue(frame, [], corkable);

    public bool Send(ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail, bool corkable = false) => Enqueue(head, tail, corkable);

    /// <summary>Queues the frame <paramref name="head"/> + <paramref name="tail"/>, and writes it at once on an idle link unless held (corked).</summary>
    private bool Enqueue(ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail, bool corkable)
    {
        var length = (long)head.Length + tail.Length;
        if (length > transport.Options.MaxFrameSize)
            throw new ArgumentException($"A frame of {length} bytes exceeds the cluster's maximum frame size of {transport.Options.MaxFrameSize} bytes.");
        bool write = false, queue = false, wait = false, hold = false, newlyHeld = false;
        ArraySegment<byte> unfilled = default;
        TcpConnection? direct = null;
        lock (_lock)
        {
            if (_closed) return false;
            if (!tail.IsEmpty && _pendingLength == 0 && !_writing && !t_isTransportThread && IsNumbered(head[0]) && Writable is { } connection)
            {
                // A big value on an idle link: this thread writes it at once, and copies its bytes into the kept frame as
                // their records are sealed (one pass over them instead of a copy, then the MAC over bytes gone cold).
                unfilled = TakeUnfilled(head, tail.Length);
                direct = connection;
                _writing = true;
            }
            else
            {
                Append(head, tail);
                if (!_writing && Writable is { } writable)
                {
                    hold = corkable && _pendingLength < Corking.HoldLimit;
                    if (hold)
                    {
                        if (!_held)
                        {
                            newlyHeld = _held = true;
                            _heldSince = Stopwatch.GetTimestamp();
                        }
                    }
                    else
                    {
                        write = _writing = true;
                        _held = false; // what was held goes with this write: the next frame begins a new hold
                        // A transport thread (a reader, the heartbeat) writes itself what the socket has room for (see WriteLoop), and
                        // leaves the rest to the pool. A pool thread woken for a write spins for more work after it: 32 idle VMs'
                        // heartbeats cost a third of their CPU that way, and a mirror group's log messages and acknowledgements,
                        // sent from readers, a fifth of a mirrored VR's three VMs'.
                        queue = _queued = t_isTransportThread && !writable.HasRoomFor(_room = _pendingLength);
                    }
                }
                else write = TakeQueuedWrite();
                wait = !t_isTransportThread && OverLimit;
                if (wait) _space.Reset();
            }
        }
        if (direct is not null && WriteUnfilled(direct, unfilled, 4 + head.Length, tail)) WriteLoop();
        if (hold) Corking.Note(this, newlyHeld);
        if (queue) Queue();
        else if (write) WriteLoop();
        else if (wait) _space.Wait();
        return true;
    }

    // True while the writer copies a big value into the kept frame TakeUnfilled made; it holds no lock meanwhile and never waits.
    private bool _filling;
    private Action? _filled;

    /// <summary>
    /// Takes the frame <paramref name="head"/> + a tail of <paramref name="tailLength"/> bytes for writing at once, as
    /// <see cref="WriteLoop"/> takes queued ones: numbered, and kept until acknowledged. The tail's bytes are not in it yet:
    /// the writer copies them in (<see cref="WriteUnfilled"/>), and kept frames are read only once it has (<see cref="Unacknowledged"/>).
    /// Caller holds _lock.
    /// </summary>
    private ArraySegment<byte> TakeUnfilled(ReadOnlySpan<byte> head, int tailLength)
    {
        var length = head.Length + tailLength;
        var frame = new ArraySegment<byte>(Rent(4 + length), 0, 4 + length);
        BinaryPrimitives.WriteInt32LittleEndian(frame, length);
        head.CopyTo(frame.AsSpan(4));
        _appended++;
        _bytesSent += length;
        _totalSent += 4 + length;
        _log = []; // the next small write starts a new log (see WriteLoop)
        Keep(frame);
        _filling = true;
        UpdateSpace();
        return frame;
    }

    /// <summary>Writes a frame from <see cref="TakeUnfilled"/>, copying <paramref name="tail"/> in from <paramref name="cut"/> on the way; false when the connection failed.</summary>
    private bool WriteUnfilled(TcpConnection connection, ArraySegment<byte> frame, int cut, ReadOnlySpan<byte> tail)
    {
        _filled ??= () => Volatile.Write(ref _filling, false);
        if (!connection.Write(frame, cut, tail, _filled))
        {
            lock (_lock) _writing = false; // as in WriteLoop: the next connection resumes
            return false;
        }
        Volatile.Write(ref LastSent, Environment.TickCount64);
        return true;
    }

    /// <summary>The connection frames may be written to now: attached, and the remote VM has said where to resume.</summary>
    private TcpConnection? Writable => _resumed ? _connection : null;

    private bool OverLimit => _pendingLength + _unackedBytes > transport.Options.SendBufferLimit;

    /// <summary>Writes out frames held back by <see cref="Corking"/>, or left to the thread pool, on the calling thread.</summary>
    public void Flush() => FlushHeldBy(long.MaxValue);

    /// <summary>
    /// <see cref="Flush"/> for the flusher: false, writing nothing, when the frames are held by a hold that began after
    /// <paramref name="heldBy"/> (a Stopwatch timestamp) and none was left to the pool. A sending thread writes its own
    /// hold within microseconds when it streams (at <see cref="Corking.HoldLimit"/>) or waits; the flusher taking every
    /// young hold wrote a stream out in small pieces, contending for the link with the thread that filled it.
    /// </summary>
    public bool FlushHeldBy(long heldBy)
    {
        lock (_lock)
        {
            if (_held && !_queued && _heldSince > heldBy) return false;
            _held = false;
            if (!TakeQueuedWrite())
            {
                if (_writing || _pendingLength == 0 || Writable is null) return true;
                _writing = true;
            }
        }
        WriteLoop();
        return true;
    }

    // A thread that must not block (a reader, the heartbeat) leaves to the thread pool the writes the socket has no room for
    // (see Enqueue). A pool that user code keeps busy must not hold them up, heartbeats least of all: until a pool thread
    // starts on them, any thread that may block (a VR's, the flusher within a millisecond) takes them over.
    private bool _queued;
    private int _room; // what a transport thread found room for in the socket when it began writing (see Enqueue)

    private void Queue()
    {
        ThreadPool.UnsafeQueueUserWorkItem(static l => l.WriteQueued(), this, preferLocal: false);
        Corking.Later(this);
    }

    private void WriteQueued()
    {
        lock (_lock)
        {
            if (!_queued) return; // taken over
            _queued = false;
        }
        WriteLoop();
    }

    /// <summary>Takes over a write left to the thread pool that has not started, on a thread that may block. Caller holds _lock.</summary>
    private bool TakeQueuedWrite()
    {
        if (!_queued || t_isTransportThread) return false;
        _queued = false;
        return true;
    }

    /// <summary>
    /// Makes <paramref name="connection"/> carry this link's frames once the remote VM says where to resume
    /// (<see cref="OnResume"/>); returns the connection before it, whose reader must stop first.
    /// </summary>
    public TcpConnection? Attach(TcpConnection connection)
    {
        lock (_lock)
        {
            var previous = _last;
            _connection = _last = connection;
            _resumed = false;
            return previous;
        }
    }

    private TcpConnection? _last;

    public void Detach(TcpConnection connection)
    {
        lock (_lock)
            if (_connection == connection) _connection = null;
    }

    /// <summary>The first frame on a new connection, with its length: how many numbered frames this VM has received from the other.</summary>
    public byte[] ResumeFrame()
    {
        var resume = CountFrame(Frames.ResumeKind, Volatile.Read(ref Received));
        var framed = new byte[4 + resume.Length];
        BinaryPrimitives.WriteInt32LittleEndian(framed, resume.Length);
        resume.CopyTo(framed, 4);
        lock (_lock) _totalSent += framed.Length;
        return framed;
    }

    /// <summary>
    /// The remote VM received <paramref name="received"/> of our numbered frames: the rest are written again,
    /// before anything queued since, and the link writes on <paramref name="connection"/> from now on.
    /// False when the count cannot be right (more than was sent, or fewer than it acknowledged).
    /// </summary>
    public bool OnResume(TcpConnection connection, long received)
    {
        bool write;
        lock (_lock)
        {
            if (connection != _connection || _resumed || _closed) return true;
            if (received < _acked || received > _appended) return false;
            var again = Unacknowledged(after: received);
            if (again.Length > 0)
            {
                var pending = Rent(again.Length + _pendingLength);
                again.CopyTo(pending, 0);
                Buffer.BlockCopy(_pending, 0, pending, again.Length, _pendingLength);
                Return(_pending);
                _pending = pending;
                _pendingLength += again.Length;
                _cut = 0; // a hint only
            }
            _acked = received;
            _written = received;
            _resumed = true;
            write = !_writing && _pendingLength > 0;
            if (write) _writing = _queued = true;
            UpdateSpace();
        }
        if (write) Queue();
        return true;
    }

    /// <summary>The remote VM has received <paramref name="received"/> numbered frames: their buffers are free.</summary>
    public void OnAck(long received)
    {
        lock (_lock)
        {
            if (received <= _acked) return;
            _acked = Math.Min(received, _written);
            while (_unacked.TryPeek(out var w) && w.Last <= _acked)
            {
                _unacked.Dequeue();
                _unackedBytes -= w.Bytes.Count;
                // A log buffer holds many writes: it comes back with the last of them (never the one still written into).
                var array = w.Bytes.Array!;
                if (array != _log && !(_unacked.TryPeek(out var next) && next.Bytes.Array == array)) Return(array);
            }
            UpdateSpace();
        }
    }

    /// <summary>Counts a frame of <paramref name="bytes"/> (length included) read from the remote VM, whatever its kind (the reader's thread).</summary>
    public void NoteFrame(int bytes) => _totalReceived += bytes;

    /// <summary>Counts a numbered frame handed to this VM; acknowledges every so often (the reader's thread: never waits).</summary>
    public void NoteReceived(int bytes)
    {
        var received = ++Received;
        _bytesSinceAck += bytes;
        _bytesReceived += bytes;
        if (received - _receivedAcked >= AckFrames || _bytesSinceAck >= AckBytes) SendAck();
    }

    private static readonly byte[] Heartbeat = [Frames.HeartbeatKind];

    /// <summary>Tells the remote VM this one is alive (the heartbeat thread, on a link that has been quiet).</summary>
    public void SendHeartbeat() => Send(Heartbeat);

    /// <summary>Tells the remote VM how many numbered frames arrived, if that changed since it was last told.</summary>
    public void SendAck()
    {
        var received = Volatile.Read(ref Received);
        if (received == _receivedAcked) return;
        _receivedAcked = received;
        _bytesSinceAck = 0;
        Send(CountFrame(Frames.AckKind, received));
    }

    private static byte[] CountFrame(byte kind, long count)
    {
        var frame = new byte[9];
        frame[0] = kind;
        BinaryPrimitives.WriteInt64LittleEndian(frame.AsSpan(1), count);
        return frame;
    }

    /// <summary>Waits until everything sent so far has been written (used before a VM stops).</summary>
    public void WaitDrained(TimeSpan limit)
    {
        var deadline = Environment.TickCount64 + (long)limit.TotalMilliseconds;
        while (Environment.TickCount64 < deadline)
        {
            lock (_lock)
                if ((_pendingLength == 0 && !_writing) || Writable is null) return;
            Thread.Yield();
        }
    }

    /// <summary>Drops the link; returns the numbered frames it still held (queued, or written and not acknowledged), oldest first.</summary>
    public List<byte[]> Close()
    {
        lock (_lock)
        {
            _closed = true;
            var dropped = Frames.Split(Unacknowledged(after: _acked)).Concat(Frames.Split(_pending.AsMemory(0, _pendingLength)))
                .Where(f => IsNumbered(f[0])).ToList();
            _unacked.Clear();
            _unackedBytes = _pendingLength = _cut = 0;
            _connection = null;
            _space.Set();
            return dropped;
        }
    }

    /// <summary>Length-prefixed numbered frames past <paramref name="after"/>: the unacknowledged written ones, then those queued.</summary>
    private byte[] Unacknowledged(long after)
    {
        // A big value may still be on its way into its kept frame: the writer finishes that without the lock, and soon.
        while (Volatile.Read(ref _filling)) Thread.Yield();
        var again = new MemoryStream();
        var number = _unacked.TryPeek(out var first) ? first.Last - CountNumbered(first.Bytes) : _written;
        byte[]? previous = null;
        foreach (var (bytes, _) in _unacked)
        {
            for (var at = 0; at < bytes.Count;)
            {
                var size = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at));
                if (IsNumbered(bytes[at + 4]) && ++number > after) again.Write(bytes.AsSpan(at, 4 + size));
                at += 4 + size;
            }
            // Writes from one log buffer come one after another: each buffer comes back once.
            if (bytes.Array != previous && bytes.Array != _log) Return(bytes.Array!);
            previous = bytes.Array;
        }
        _unacked.Clear();
        _unackedBytes = 0;
        return again.ToArray();
    }

    private static int CountNumbered(ReadOnlySpan<byte> bytes)
    {
        var n = 0;
        for (var at = 0; at < bytes.Length; at += 4 + BinaryPrimitives.ReadInt32LittleEndian(bytes[at..]))
            if (IsNumbered(bytes[at + 4])) n++;
        return n;
    }

    private void Append(ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail)
    {
        var length = head.Length + tail.Length;
        var needed = _pendingLength + 4 + length;
        if (needed > _pending.Length)
        {
            // A spare, not a new array: a stream of big values reuses the buffers their acknowledgements freed.
            var grown = Rent(Math.Max(needed, 2 * _pending.Length));
            Buffer.BlockCopy(_pending, 0, grown, 0, _pendingLength);
            Return(_pending);
            _pending = grown;
        }
        var at = _pending.AsSpan(_pendingLength);
        if (!tail.IsEmpty && _cut == 0) _cut = _pendingLength + 4 + head.Length;
        BinaryPrimitives.WriteInt32LittleEndian(at, length);
        head.CopyTo(at[4..]);
        tail.CopyTo(at[(4 + head.Length)..]);
        _pendingLength = needed;
        _totalSent += 4 + length;
        if (!IsNumbered(head[0])) return;
        _appended++;
        _bytesSent += length;
    }

    private void WriteLoop()
    {
        while (true)
        {
            ArraySegment<byte> chunk;
            int cut;
            bool numbered, logged;
            TcpConnection connection;
            lock (_lock)
            {
                if (StopWritingIfIdle()) return;
                if (t_isTransportThread && _pendingLength > _room)
                {
                    // Other threads queued more since the transport thread found room for its frames: the pool writes it all.
                    _queued = true;
                    break;
                }
                connection = Writable!;
                numbered = _appended > _written;
                logged = _pendingLength <= LogLimit;
                if (logged)
                {
                    chunk = ToLog(_pending.AsSpan(0, _pendingLength));
                    cut = 0; // a small write is one record anyway
                }
                else
                {
                    chunk = new(_pending, 0, _pendingLength);
                    cut = _cut;
                    _pending = Rent(64 * 1024);
                    // The next small write starts a new log: a log's writes then lie side by side in _unacked, which is how
                    // an acknowledgement and a resume know when a log's last write is done with (see ToLog).
                    if (numbered) _log = [];
                }
                _pendingLength = _cut = 0;
                if (numbered) Keep(chunk);
                UpdateSpace();
            }
            if (!connection.Write(chunk, cut))
            {
                lock (_lock) _writing = false; // the connection failed; its reader reports it, and the next one resumes
                return;
            }
            Volatile.Write(ref LastSent, Environment.TickCount64);
            if (!numbered && !logged)
                lock (_lock) Return(chunk.Array!);
            if (t_isTransportThread)
            {
                HandOff();
                return;
            }
        }
        Queue();
    }

    /// <summary>A transport thread that wrote what it found room for leaves what was queued meanwhile to the pool.</summary>
    private void HandOff()
    {
        lock (_lock)
        {
            if (StopWritingIfIdle()) return;
            _queued = true;
        }
        Queue();
    }

    /// <summary>True, and the writer stops, when nothing is queued or no connection is writable. Caller holds _lock and is the writer.</summary>
    private bool StopWritingIfIdle()
    {
        if (_pendingLength > 0 && Writable is not null) return false;
        _writing = false;
        UpdateSpace();
        return true;
    }

    /// <summary>Keeps frames up to the last appended, taken for writing, until acknowledged. Caller holds _lock.</summary>
    private void Keep(ArraySegment<byte> chunk)
    {
        // Kept before the write: a connection that fails under it leaves them to be written again.
        _unacked.Enqueue((chunk, _appended));
        _unackedBytes += chunk.Count;
        _written = _appended;
    }

    /// <summary>
    /// Copies a small write to the log and returns where it lies there. Caller holds _lock and is the writing thread: only it
    /// appends, so what it writes from the log outside the lock stays as it is (an acknowledgement frees it only for later writes).
    /// A log's numbered writes are consecutive in _unacked (a big write between them starts a new log), so the log's array is
    /// returned once, with the acknowledgement of its last write or by a resume.
    /// </summary>
    private ArraySegment<byte> ToLog(ReadOnlySpan<byte> bytes)
    {
        if (_unacked.Count == 0) _logLength = 0; // nothing in the log is kept: start it again
        else if (_logLength + bytes.Length > _log.Length) _log = []; // full: it comes back with the acknowledgement of its last write
        if (_log.Length == 0)
        {
            _log = Rent(64 * 1024);
            _logLength = 0;
        }
        var at = _logLength;
        bytes.CopyTo(_log.AsSpan(at));
        _logLength += bytes.Length;
        return new(_log, at, bytes.Length);
    }

    /// <summary>Releases waiting senders once queued and unacknowledged bytes are within the limit.</summary>
    private void UpdateSpace()
    {
        if (_closed || !OverLimit) _space.Set();
    }

    // Buffers come back when the other side acknowledges them and are used again: a stream of big values
    // (kept until acknowledged) must not allocate one large-object-heap array per value. Caller holds _lock.
    private byte[] Rent(int size)
    {
        // The smallest that fits, so the 64 KiB buffers of small frames do not take the big ones big values need; of those
        // the last given back, whose bytes are likelier still in the cache than those of one idle since (a big value is copied in).
        var best = -1;
        for (var i = _spares.Count - 1; i >= 0; i--)
            if (_spares[i].Length >= size && (best < 0 || _spares[i].Length < _spares[best].Length)) best = i;
        if (best < 0) return GC.AllocateUninitializedArray<byte>(Math.Max(size, 64 * 1024));
        var spare = _spares[best];
        _spares.RemoveAt(best);
        return spare;
    }

    // A few buffers are kept; one grown for a huge frame is left to the GC.
    private void Return(byte[] buffer)
    {
        if (buffer.Length <= 16 << 20 && _spares.Count < 16) _spares.Add(buffer);
    }
}

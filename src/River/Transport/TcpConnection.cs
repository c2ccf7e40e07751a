using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;

namespace River;

/// <summary>
/// One authenticated TCP connection to another VM. Writes come from its <see cref="PeerLink"/>; a
/// thread of its own reads length-prefixed frames and hands each to the VM. A frame that is too
/// long or cannot be read closes this connection only.
/// </summary>
internal sealed class TcpConnection(Socket socket, Stream stream, TcpTransport transport, bool outbound)
{
    private int _closed;

    public Handshake.Hello? Remote { get; set; }

    /// <summary>True when this VM dialed; the dialer re-opens a connection that fails.</summary>
    public bool Outbound { get; } = outbound;

    public PeerLink? Link { get; set; }

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>
    /// Starts this connection's reader. It first waits until <paramref name="previous"/>, the link's connection
    /// before this one, hands out nothing more, so the count it sends in its resume frame is final; then it reads.
    /// </summary>
    public void StartReading(TcpConnection? previous) => new Thread(() =>
    {
        try
        {
            previous?.WaitQuiet(TimeSpan.FromSeconds(5));
            if (Write(Link!.ResumeFrame())) ReadLoop();
        }
        finally
        {
            _quiet.Set();
        }
    })
    { IsBackground = true, Name = $"River reader {Remote?.Id}" }.Start();

    // Set once the reader has stopped; a VR's thread reading on the caller's side holds _reading meanwhile.
    private readonly ManualResetEventSlim _quiet = new(false);

    /// <summary>Waits (up to <paramref name="limit"/>) until nothing more is handed out from this connection.</summary>
    private void WaitQuiet(TimeSpan limit)
    {
        Close("replaced by a new connection");
        var deadline = Environment.TickCount64 + (long)limit.TotalMilliseconds;
        _quiet.Wait(limit);
        while (Volatile.Read(ref _reading) != 0 && Environment.TickCount64 < deadline) Thread.Yield();
    }

    /// <summary>
    /// Writes <paramref name="bytes"/>, already framed (the record layer seals big writes in place, with a record ending at
    /// <paramref name="cut"/>, an index in its array, where a big value's bytes start); false when the connection has failed.
    /// A non-empty <paramref name="tail"/> is the big value's bytes, copied in from <paramref name="cut"/> on the way (see
    /// <see cref="RecordStream.Write(byte[], int, int, int, ReadOnlySpan{byte}, Action?)"/>); <paramref name="filled"/> is
    /// called once they are all in, whatever happens, before anything is sent.
    /// </summary>
    public bool Write(ArraySegment<byte> bytes, int cut = 0, ReadOnlySpan<byte> tail = default, Action? filled = null)
    {
        try
        {
            if (stream is RecordStream records) records.Write(bytes.Array!, bytes.Offset, bytes.Count, Math.Max(cut, bytes.Offset), tail, filled);
            else
            {
                tail.CopyTo(bytes.Array.AsSpan(cut));
                filled?.Invoke();
                stream.Write(bytes);
            }
            return true;
        }
        catch (Exception e)
        {
            // Whatever a write meets (a reset, a socket or key disposed by a Close racing it) is the connection's
            // failure: writers run on the thread pool and on River's threads, where an exception ends the process.
            Close($"write failed: {e.Message}");
            return false;
        }
    }

    /// <summary>Closes once, from any thread, racing writes, reads and other closes; never throws.</summary>
    public void Close(string reason)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // already reset by the other side, or disposed under us
        }
        try
        {
            stream.Dispose();
            transport.OnConnectionClosed(this, reason);
        }
        catch (Exception e)
        {
            transport.OnUnexpected("closing a connection", e);
        }
    }

    /// <summary>How long a reader polls for the next frame before it blocks (waking a blocked thread costs tens of µs).</summary>
    public static TimeSpan SpinBeforeBlocking { get; set; } = TimeSpan.FromMicroseconds(50);

    // A VR's thread polling for its answer keeps the reader off the socket this long after each poll: long enough that a VR
    // consuming a stream, back to poll after each batch it took, reads it alone. At 20 µs the reader read beside it, and on
    // two cores the receiver's two threads kept the sender waiting for a core 72 % of the time (BENCHMARKS.md, round 9).
    private static readonly long CallerGrace = Stopwatch.Frequency / 5_000; // 200 µs

    // Many VRs waiting on one connection poll it once per this between them, not once each.
    private static readonly long PollGap = Stopwatch.Frequency / 1_000_000; // 1 µs

    // Whoever reads holds _reading (the reader thread, or a VR's thread polling for its answer) and owns
    // the buffer: bytes [_start, _end) are read but not yet handed out.
    private byte[] _buffer = new byte[64 * 1024];
    private int _start, _end, _reading;
    private long _callerPolled; // Stopwatch time a VR's thread last polled
    private readonly ManualResetEventSlim _handBack = new(false, spinCount: 0);

    /// <summary>True when a caller may read without blocking: no TLS record may sit half-read in the stream (our own records are read whole, see <see cref="RecordStream.ReadAvailable"/>).</summary>
    private bool Plain => stream is BlockingStream or RecordStream;

    /// <summary>
    /// True when writing <paramref name="bytes"/> cannot block: a plain stream over a socket that reports room (on Linux,
    /// at least a third of its send buffer free) for a write of at most a quarter of that buffer (the rest covers the
    /// kernel's bookkeeping and the records' MACs). Asked only while no other thread writes to it.
    /// </summary>
    public bool HasRoomFor(int bytes)
    {
        try
        {
            // The buffer's size is asked only past the smallest buffer's quarter: the kernel grows it under traffic.
            return Plain && !IsClosed && socket.Poll(0, SelectMode.SelectWrite) && (bytes <= MinRoom || bytes <= socket.SendBufferSize / 4);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return false; // closed under it: its reader reports that
        }
    }

    /// <summary>A quarter of the smallest send buffer Linux gives a socket under memory pressure (4 KiB).</summary>
    private const int MinRoom = 1024;

    /// <summary>True when bytes wait to be read, in the socket or as whole records in the record layer (which reads ahead).</summary>
    private bool HasData => socket.Available > 0 || stream is RecordStream { HasReadable: true };

    /// <summary>
    /// Called by a VR's thread that sent on this connection and now waits for the answer: reads and hands
    /// out whatever has arrived, on the caller's thread, so the answer skips the hop from the reader thread
    /// to the VR's. Never blocks; does nothing when nothing has arrived or another thread is reading.
    /// </summary>
    public void TryReadOnCaller()
    {
        if (!Plain || IsClosed) return;
        var now = Stopwatch.GetTimestamp();
        if (now - Volatile.Read(ref _callerPolled) < PollGap) return; // another VR's thread polled just now: it hands out ours too
        Volatile.Write(ref _callerPolled, now);
        var wasTransport = PeerLink.t_isTransportThread;
        var big = false;
        try
        {
            if (!HasData || Interlocked.CompareExchange(ref _reading, 1, 0) != 0) return;
            try
            {
                PeerLink.t_isTransportThread = true; // frames handled here may send: as on the reader, never wait for back-pressure
                // The reader may have taken the bytes between the look and the lock: read only what is there.
                var available = socket.Available;
                big = BigFramePending;
                if (!big && (available > 0 || stream is RecordStream { HasReadable: true }))
                {
                    ReadAndHandOut(mayBlock: false, available);
                    big = BigFramePending;
                }
            }
            finally
            {
                PeerLink.t_isTransportThread = wasTransport;
                Volatile.Write(ref _reading, 0);
            }
            // The rest of a big frame is the reader's: it reads it straight into the value's array at once, where
            // a caller could only gather it into the buffer piece by piece between its polls.
            if (big) HandBack();
        }
        catch (Exception e)
        {
            // What the connection meets is the connection's: the VR's receive goes on.
            Fail(e);
        }
    }

    /// <summary>Closes after a failed read; bytes that fail authentication are worth a warning, not just a closed connection.</summary>
    private void Fail(Exception e)
    {
        if (e is RecordAuthenticationException && !IsClosed && Remote is { } remote) transport.OnFrameRejected(remote.Id, e.Message);
        Close($"read failed: {e.Message}");
    }

    /// <summary>True when the buffer ends in part of a frame of at least <see cref="BigFrame"/> bytes; read under <c>_reading</c>.</summary>
    private bool BigFramePending => _end - _start >= 4 && BinaryPrimitives.ReadInt32LittleEndian(_buffer.AsSpan(_start)) >= BigFrame;

    /// <summary>The VR's thread stops polling (it parks): the reader takes over at once.</summary>
    public void HandBack()
    {
        Volatile.Write(ref _callerPolled, 0);
        _handBack.Set();
    }

    private bool CallerPolls => Stopwatch.GetTimestamp() - Volatile.Read(ref _callerPolled) < CallerGrace;

    /// <summary>Polls for data for <see cref="SpinBeforeBlocking"/>; true when some arrived, false when the reader should block.</summary>
    private bool AwaitData()
    {
        if (HasData && !CallerPolls) return true;
        var budget = SpinBudget.Start(SpinBeforeBlocking);
        while (true)
        {
            var spinning = budget.Spin();
            if (CallerPolls)
            {
                // A VR's thread polls for its answer: the socket is its. Sleep, without blocking on the socket
                // (the VR could not read then), until it parks or 1 ms passes (it may have gone to compute,
                // leaving frames for other VRs unread: they wait at most that long).
                _handBack.Wait(1);
                _handBack.Reset();
                budget = SpinBudget.Start(SpinBeforeBlocking);
                continue;
            }
            if (Volatile.Read(ref _reading) == 0 && HasData) return true;
            if (!spinning) return false;
        }
    }

    private void ReadLoop()
    {
        PeerLink.t_isTransportThread = true;
        try
        {
            while (!IsClosed)
            {
                var arrived = AwaitData();
                // Nothing came while polling: wait for bytes without holding the socket, so that a VR's thread polling for its
                // answer can still take them. Woken with nothing to read (the stream ended, or a VR's thread read first): read.
                if (!arrived && Plain && socket.Poll(-1, SelectMode.SelectRead) && HasData) continue;
                while (Interlocked.CompareExchange(ref _reading, 1, 0) != 0) Thread.Yield(); // a VR's thread reads; briefly
                try
                {
                    // A VR's thread may have taken what arrived: poll again rather than block.
                    if (arrived && Plain && !HasData) continue;
                    if (!ReadAndHandOut(mayBlock: true)) return;
                }
                finally
                {
                    Volatile.Write(ref _reading, 0);
                }
            }
        }
        catch (Exception e)
        {
            // This thread is the connection's; nothing it meets may take the VM down with it.
            Fail(e);
        }
    }

    // A packet this big that ends with a byte[] has that value read straight into its own array, as soon as
    // its head (ids, names, the other values) has arrived; one whose head is not in within this much is read whole.
    private const int BigFrame = PeerLink.SplitSize, HeadBytes = 4096, TailStart = 1 << 20;
    private bool _tailTried;

    /// <summary>Notes that the remote VM was heard from (the detector writes only when the millisecond changes, as VR threads sending on the link share the line).</summary>
    private void NoteHeard() => Link!.Detector.Heard(Environment.TickCount64);

    /// <summary>
    /// One read from the stream, then every whole frame in the buffer handed to the VM; false once the
    /// connection is closed. A caller that may not block says how many bytes the socket holds. Only a thread that may block (the reader's) reads the rest of a big frame at once.
    /// </summary>
    private bool ReadAndHandOut(bool mayBlock, int available = 0)
    {
        var max = transport.Options.MaxFrameSize;
        if (_end == _buffer.Length)
        {
            if (_start == 0)
            {
                // Full of one incomplete frame: grow as its bytes arrive, never to what its length claims.
                Array.Resize(ref _buffer, (int)Math.Min(2L * _buffer.Length, 4L + max));
            }
            else
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
        }
        var space = _buffer.AsSpan(_end);
        var n = mayBlock || stream is not RecordStream records ? stream.Read(space) : records.ReadAvailable(space, available);
        if (n == 0)
        {
            if (!mayBlock) return true; // only part of a record has arrived
            Close("the other side closed the connection");
            return false;
        }
        _end += n;
        NoteHeard();
        while (_end - _start >= 4)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(_buffer.AsSpan(_start));
            if (length <= 0 || length > max)
            {
                Close($"a frame length of {length} bytes is outside 1..{max}");
                return false;
            }
            if (_end - _start - 4 < length)
            {
                // Looked at as the head arrives (a sender writes it apart from a big tail), until HeadBytes have: a frame that does not qualify is read whole.
                var arrived = _end - _start - 4;
                if (mayBlock && length >= BigFrame && !_tailTried && arrived > 0)
                {
                    if (_buffer[_start + 4] == Frames.PacketKind
                        && RiverSerializer.TryFindTail(_buffer.AsMemory(_start + 5, arrived - 1), length - 1, out var tailOffset, out var arrayType))
                        return ReadTail(length, 1 + tailOffset, arrayType);
                    _tailTried = arrived >= HeadBytes;
                }
                break;
            }
            if (!transport.OnFrame(this, _buffer.AsMemory(_start + 4, length)))
            {
                Close("a malformed frame");
                return false;
            }
            _start += 4 + length;
            _tailTried = false;
        }
        if (_start == _end)
        {
            _start = _end = 0;
            if (_buffer.Length > 16 << 20) _buffer = new byte[64 * 1024]; // keep a buffer that big values need, not a huge one
        }
        return true;
    }

    /// <summary>
    /// The frame at <c>_start</c> is a packet whose last value, an array of <paramref name="arrayType"/>, runs from
    /// <paramref name="head"/> to its end: that value's bytes are read from the socket into its own array (no copy out
    /// of the buffer, no buffer as big as the frame), then the packet is handed to the VM. The buffer holds nothing past this frame.
    /// </summary>
    private bool ReadTail(int length, int head, Type arrayType)
    {
        // Sized to what has arrived, doubled as more does (up to the claimed length): a length that lies reserves little.
        // A whole number of elements each time (TryFindTail checked the length), each at least what has arrived.
        var size = length - head;
        var have = _end - _start - 4 - head;
        var tail = ArrayRecycler.TryTake(arrayType, size) ?? RiverSerializer.NewArray(arrayType, Math.Min(size, Math.Max(2 * have, TailStart)));
        var bytes = RiverSerializer.BytesOf(tail);
        _buffer.AsSpan(_start + 4 + head, have).CopyTo(bytes);
        while (have < size)
        {
            if (have == bytes.Length)
            {
                var grown = RiverSerializer.NewArray(arrayType, (int)Math.Min(size, 2L * bytes.Length));
                bytes[..have].CopyTo(RiverSerializer.BytesOf(grown));
                tail = grown;
                bytes = RiverSerializer.BytesOf(tail);
            }
            var n = stream.Read(bytes[have..]);
            if (n == 0) throw new EndOfStreamException("the connection ended inside a frame");
            have += n;
            NoteHeard();
        }
        var ok = transport.OnFrame(this, _buffer.AsMemory(_start + 4, head), tail);
        _start = _end = 0;
        _tailTried = false;
        if (ok) return true;
        Close("a malformed frame");
        return false;
    }
}

using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace River.Bench.Remote;

/// <summary>
/// A TCP connection with River's framing (a 4-byte little-endian length, then the frame), read and
/// written the way River's transport does (<c>TcpConnection</c>): a blocking socket with NoDelay, and
/// a read that first polls <c>Available</c> for <see cref="TcpConnection.SpinBeforeBlocking"/> (50 µs)
/// with SpinWait, then blocks in <c>recv</c>. Frames to send collect in a buffer that is written
/// before the next blocking read (or when full), so replies to frames that arrived together leave in
/// one write, as River coalesces frames queued for one link.
/// </summary>
internal sealed class FrameSocket(Socket socket) : IDisposable
{
    private const int MaxFrame = 64 << 20;

    private byte[] _in = new byte[64 * 1024], _out = new byte[64 * 1024];
    private int _start, _end, _need = 4, _outLength;

    public static FrameSocket Connect(int port)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            s.Connect(IPAddress.Loopback, port);
            return new FrameSocket(s);
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }

    /// <summary>Blocks for the next frame (writing what is queued first); valid until the next read.</summary>
    public ReadOnlySpan<byte> Next()
    {
        int offset, length;
        while (!TryTake(out offset, out length))
        {
            Flush();
            Fill();
        }
        return _in.AsSpan(offset, length);
    }

    /// <summary>Takes a frame already received, without reading.</summary>
    public bool TryTake(out int offset, out int length)
    {
        offset = length = 0;
        if (_end - _start < 4)
        {
            _need = 4;
            return false;
        }
        var n = BinaryPrimitives.ReadInt32LittleEndian(_in.AsSpan(_start));
        if (n is <= 0 or > MaxFrame) throw new InvalidDataException($"A frame length of {n} bytes.");
        if (_end - _start - 4 < n)
        {
            _need = 4 + n;
            return false;
        }
        (offset, length) = (_start + 4, n);
        _start += 4 + n;
        return true;
    }

    /// <summary>Reads what has arrived (poll, then block), making room for the frame in progress; fails at end of stream.</summary>
    public void Fill()
    {
        if (_start == _end) _start = _end = 0;
        if (_start + _need > _in.Length || _end == _in.Length)
        {
            var target = _need > _in.Length ? new byte[_need] : _in;
            Buffer.BlockCopy(_in, _start, target, 0, _end - _start);
            (_end, _start, _in) = (_end - _start, 0, target);
        }
        AwaitData();
        var n = socket.Receive(_in, _end, _in.Length - _end, SocketFlags.None);
        if (n == 0) throw new EndOfStreamException("The other side closed the connection.");
        _end += n;
    }

    /// <summary>The bytes received and not yet taken, for an echo that sends frames back as they came.</summary>
    public int Start => _start;

    public byte[] InBuffer => _in;

    private void AwaitData()
    {
        if (socket.Available > 0) return;
        var until = Stopwatch.GetTimestamp() + (long)(TcpConnection.SpinBeforeBlocking.TotalSeconds * Stopwatch.Frequency);
        var spinner = new SpinWait();
        while (socket.Available == 0 && Stopwatch.GetTimestamp() < until) spinner.SpinOnce(sleep1Threshold: -1);
    }

    /// <summary>Queues a frame; a frame too big for the buffer is written at once, without a copy.</summary>
    public void Append(ReadOnlySpan<byte> frame)
    {
        if (_outLength + 4 + frame.Length > _out.Length) Flush();
        if (4 + frame.Length > _out.Length)
        {
            Span<byte> header = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(header, frame.Length);
            SendAll(header);
            SendAll(frame);
            return;
        }
        BinaryPrimitives.WriteInt32LittleEndian(_out.AsSpan(_outLength), frame.Length);
        frame.CopyTo(_out.AsSpan(_outLength + 4));
        _outLength += 4 + frame.Length;
    }

    /// <summary>Queues a frame holding <paramref name="n"/>: the small message of request/reply.</summary>
    public void AppendCounter(int n)
    {
        Span<byte> frame = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(frame, n);
        Append(frame);
    }

    public void Flush()
    {
        if (_outLength == 0) return;
        SendAll(_out.AsSpan(0, _outLength));
        _outLength = 0;
    }

    public void SendAll(ReadOnlySpan<byte> bytes)
    {
        while (bytes.Length > 0) bytes = bytes[socket.Send(bytes)..];
    }

    public void Dispose() => socket.Dispose();
}

/// <summary>
/// The raw TCP baseline's far end, run in its own process (<c>River.Bench --serve-raw PORT</c>): a
/// thread per connection. The connection's first frame says what it is: "E" echoes every frame back
/// (the bytes of all whole frames received are written back in one send), "S" drops frames and
/// answers each 1-byte frame (the sync) with itself.
/// </summary>
internal static class RawServer
{
    public const byte EchoMode = (byte)'E', SinkMode = (byte)'S';

    public static int Listen(int port)
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        listener.Listen(64);
        new Thread(() =>
        {
            while (true)
            {
                var s = listener.Accept();
                new Thread(() => Serve(s)) { IsBackground = true, Name = "raw server" }.Start();
            }
        })
        { IsBackground = true, Name = "raw acceptor" }.Start();
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }

    private static void Serve(Socket s)
    {
        using var link = new FrameSocket(s);
        s.NoDelay = true;
        try
        {
            var echo = link.Next()[0] == EchoMode;
            while (true)
            {
                if (echo)
                {
                    link.Fill();
                    var from = link.Start;
                    while (link.TryTake(out _, out _)) { }
                    if (link.Start > from) link.SendAll(link.InBuffer.AsSpan(from, link.Start - from));
                }
                else
                {
                    var frame = link.Next();
                    if (frame.Length == 1) link.Append(frame);
                }
            }
        }
        catch (Exception e) when (e is EndOfStreamException or SocketException or ObjectDisposedException)
        {
            // the client is done
        }
    }
}

/// <summary>
/// The raw TCP baseline: client threads in the bench, each with its own connection to the raw server
/// process, sending frames of the payload (or a 4-byte counter) with River's framing, waiting as
/// River's transport does (<see cref="FrameSocket"/>). No serialization, no routing, no hop to
/// another thread: the floor for any runtime on this machine.
/// </summary>
internal sealed class RawSide : IRemoteSide
{
    public const string BaselineName = "raw-tcp";

    public string Name => BaselineName;

    private readonly ChildProcess _server;
    private readonly int _port;
    private readonly TimeSpan _timeout;

    private RawSide(ChildProcess server, int port, TimeSpan timeout) => (_server, _port, _timeout) = (server, port, timeout);

    public static RawSide Start(RunSettings s) =>
        Servers.Start("raw-tcp server", Servers.RawFlag, s, (server, port) => new RawSide(server, port, s.Timeout));

    public ISession Open(Workload work) => new Session(this, work);

    public void Dispose() => _server.Dispose();

    private sealed class Session : ISession
    {
        private readonly Gang _gang;
        private readonly TripClock? _clock;
        private readonly List<FrameSocket> _links = [];

        public Session(RawSide side, Workload work)
        {
            _gang = new Gang(work.Clients, side._timeout);
            _clock = work.TimesTrips ? new TripClock(work.Count) : null;
            for (var i = 0; i < work.Clients; i++)
            {
                var link = FrameSocket.Connect(side._port);
                _links.Add(link);
                link.Append([work.Echo ? RawServer.EchoMode : RawServer.SinkMode]);
                link.Flush();
                var clock = i == 0 ? _clock : null;
                _gang.StartThread(i, () => Rep(link, work, clock), "raw-tcp client");
            }
        }

        public RemoteSample RunOnce() => new(_gang.RunOnce(), _clock?.Take());

        public void Dispose()
        {
            _gang.Dispose();
            foreach (var l in _links) l.Dispose();
        }

        private static void Rep(FrameSocket link, Workload work, TripClock? clock)
        {
            if (!work.Echo)
            {
                for (var i = 0; i < work.Count; i++) link.Append(work.Payload!);
                link.Append([RawServer.SinkMode]); // the sync: any 1-byte frame
                if (link.Next().Length != 1) throw new InvalidDataException("Expected the sync frame back.");
                return;
            }
            var window = new RequestWindow(work, clock, n => Send(link, work.Payload, n));
            window.Start();
            do link.Next(); // writes the requests queued so far, then waits for a reply
            while (!window.Reply());
        }

        private static void Send(FrameSocket link, byte[]? payload, int n)
        {
            if (payload is null) link.AppendCounter(n);
            else link.Append(payload);
        }
    }
}

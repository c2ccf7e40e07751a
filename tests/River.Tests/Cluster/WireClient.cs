using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace River.Tests.Cluster;

/// <summary>
/// A raw TCP connection to a VM, for tests that speak (or mangle) the wire protocol themselves:
/// the handshake is River's own dialer side (<see cref="Handshake.DialAsync"/>), recorded so it can be replayed.
/// After it, <see cref="SendAsync"/> seals what it sends in records under the session's key, as a VM
/// holding the key would; <see cref="SendRawAsync"/> sends bytes as they are.
/// </summary>
internal sealed class WireClient : IDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private Stream? _session;

    private WireClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true) { ReadTimeout = 10_000, WriteTimeout = 10_000 };
    }

    public static async Task<WireClient> ConnectAsync(int port, CancellationToken cancel)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancel);
            return new WireClient(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Authenticates as a (never announced) VM of the cluster; returns the bytes this side sent, a transcript to replay.</summary>
    public byte[] Authenticate(ClusterOptions options)
    {
        var recorder = new RecordingStream(_stream);
        using var timeout = new CancellationTokenSource(options.HandshakeTimeout);
        var session = Handshake.DialAsync(recorder, options, NewHello(), [], null, timeout.Token).GetAwaiter().GetResult();
        _session = session.Wrap(new BlockingStream(_stream));
        return recorder.Written.ToArray();
    }

    public static Handshake.Hello NewHello() => new(ClusterOptions.ProtocolVersion, VmId.New(), Handshake.NewNonce(), "fuzz", 0);

    /// <summary>Sends bytes as the frame stream: sealed in records once authenticated, as they are before.</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancel) => await (_session ?? _stream).WriteAsync(bytes, cancel);

    /// <summary>Sends bytes straight to the socket, with no MAC: what an intruder on the connection could inject.</summary>
    public async Task SendRawAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancel) => await _stream.WriteAsync(bytes, cancel);

    /// <summary>A frame as the transports write it: 4-byte little-endian length, then the body.</summary>
    public static byte[] Framed(ReadOnlySpan<byte> body)
    {
        var bytes = new byte[4 + body.Length];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, body.Length);
        body.CopyTo(bytes.AsSpan(4));
        return bytes;
    }

    /// <summary>
    /// Ends this side (FIN) and reads until the VM closes; true when it did within <paramref name="timeout"/>.
    /// A connection the VM left open past its handshake timeout means it lost track of it.
    /// </summary>
    public async Task<bool> FinishAsync(TimeSpan timeout)
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            return true; // already reset by the VM
        }
        using var cancel = new CancellationTokenSource(timeout);
        var buffer = new byte[16 * 1024];
        try
        {
            while (await _stream.ReadAsync(buffer, cancel.Token) > 0)
            {
            }
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return true; // reset
        }
    }

    /// <summary>True when the VM has closed this connection; reads (and drops) whatever it sent, never blocking.</summary>
    public bool ClosedByPeer()
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (_socket.Poll(0, SelectMode.SelectRead))
                if (_socket.Receive(buffer) == 0) return true;
            return false;
        }
        catch (SocketException)
        {
            return true; // reset
        }
    }

    public void Dispose() => _stream.Dispose();

    /// <summary>Passes everything through (synchronously, as the transport does) and keeps a copy of what was written.</summary>
    private sealed class RecordingStream(Stream inner) : BlockingStream(inner)
    {
        public MemoryStream Written { get; } = new();

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Written.Write(buffer);
            base.Write(buffer);
        }
    }
}

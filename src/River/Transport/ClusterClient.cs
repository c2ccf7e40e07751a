using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using MessagePack;

namespace River;

/// <summary>
/// A tool's connection to one VM (<c>river status</c>, <c>river kill</c>): it authenticates like a VM
/// but never announces itself, so it does not become a member.
/// </summary>
internal sealed class ClusterClient : IDisposable
{
    private readonly NetworkStream _network;
    private readonly RiverSerializer _serializer = new();
    private Stream _stream;

    private ClusterClient(Socket socket) => _stream = _network = new NetworkStream(socket, ownsSocket: true);

    public static ClusterClient Connect(string host, int port, ClusterOptions options)
    {
        // Made before connecting: a VM closes a connection that stays silent too long, and a cold process is slow.
        var hello = new Handshake.Hello(ClusterOptions.ProtocolVersion, VmId.New(), Handshake.NewNonce(), "tool", 0, Handshake.FlagsFor(options));
        var certificate = TlsChannel.Load(options);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Connect(host, port);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var client = new ClusterClient(socket);
        try
        {
            client._network.ReadTimeout = client._network.WriteTimeout = (int)options.HandshakeTimeout.TotalMilliseconds;
            using var timeout = new CancellationTokenSource(options.HandshakeTimeout);
            var (stream, binding) = TlsChannel.Secure(client._network, outbound: true, certificate);
            var session = Handshake.DialAsync(stream, options, hello, binding, null, timeout.Token).GetAwaiter().GetResult();
            client._stream = session.Wrap(stream);
            client.Write([Frames.ResumeKind, 0, 0, 0, 0, 0, 0, 0, 0]); // nothing received before: the VM writes once it hears where to resume
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Sends a control message and returns the first reply of type <typeparamref name="T"/>, skipping the VM's own chatter.</summary>
    public T Ask<T>(object request)
    {
        Write(Frames.Control(_serializer, request));
        Span<byte> prefix = stackalloc byte[4];
        while (true)
        {
            _stream.ReadExactly(prefix);
            var length = BinaryPrimitives.ReadInt32LittleEndian(prefix);
            if (length <= 0 || length > 64 << 20) throw new IOException($"the VM sent a frame of {length} bytes");
            var body = new byte[length];
            _stream.ReadExactly(body);
            if (body[0] != Frames.ControlKind) continue;
            if (_serializer.ReadValue(body.AsMemory(1)) is T reply) return reply;
        }
    }

    private void Write(ReadOnlySpan<byte> frame)
    {
        var bytes = new byte[4 + frame.Length];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, frame.Length);
        frame.CopyTo(bytes.AsSpan(4));
        _stream.Write(bytes);
    }

    public void Dispose() => _stream.Dispose();
}

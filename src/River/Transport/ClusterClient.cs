using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Authentication;
using MessagePack;

namespace River;

/// <summary>
/// A tool's connection to one VM (<c>river status</c>, <c>river kill</c>): it authenticates like a VM
/// but never announces itself, so it does not become a member. Every step (connect, handshake, each
/// answer) is bounded by <see cref="ClusterOptions.HandshakeTimeout"/>, and every failure is an
/// <see cref="IOException"/> that names the VM's address, so a tool asking many VMs reports each one it
/// could not ask instead of hanging on it.
/// </summary>
internal sealed class ClusterClient : IDisposable
{
    private readonly NetworkStream _network;
    private readonly RiverSerializer _serializer = new();
    private readonly string _address;
    private readonly TimeSpan _limit;
    private Stream _stream;

    private ClusterClient(Socket socket, string address, TimeSpan limit)
    {
        _stream = _network = new NetworkStream(socket, ownsSocket: true);
        (_address, _limit) = (address, limit);
    }

    /// <exception cref="IOException">The VM was not reached or did not authenticate within the handshake timeout.</exception>
    public static ClusterClient Connect(string host, int port, ClusterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var address = $"{host}:{port}";
        // Made before connecting: a VM closes a connection that stays silent too long, and a cold process is slow.
        var hello = new Handshake.Hello(ClusterOptions.ProtocolVersion, VmId.New(), Handshake.NewNonce(), "tool", 0, Handshake.FlagsFor(options));
        var certificate = TlsChannel.Load(options);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            Deadline.Connect(socket, host, port, options.HandshakeTimeout);
        }
        catch (Exception e) when (e is SocketException or TimeoutException)
        {
            socket.Dispose();
            throw new IOException($"{address}: {e.Message}", e);
        }
        var client = new ClusterClient(socket, address, options.HandshakeTimeout);
        try
        {
            return client.Bounded("no handshake", () =>
            {
                // Blocking calls on this thread: a tool asking many VMs at once must not wait for the thread pool.
                var (stream, binding) = TlsChannel.Secure(new BlockingStream(client._network), outbound: true, certificate);
                var session = Handshake.DialAsync(stream, options, hello, binding, null, CancellationToken.None).GetAwaiter().GetResult();
                client._stream = session.Wrap(stream);
                client.Write([Frames.ResumeKind, 0, 0, 0, 0, 0, 0, 0, 0]); // nothing received before: the VM writes once it hears where to resume
                return client;
            });
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Sends a control message and returns the first reply of type <typeparamref name="T"/>, skipping the VM's own chatter.</summary>
    /// <exception cref="IOException">No such reply within the handshake timeout, the connection failed, or the VM sent nonsense.</exception>
    public T Ask<T>(object request) => Bounded("no answer", () =>
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
    });

    /// <summary>Runs one step within the limit (the connection is disposed when it passes); any failure becomes an IOException naming the VM.</summary>
    private TResult Bounded<TResult>(string late, Func<TResult> step)
    {
        using var deadline = new Deadline(_network, _limit);
        try
        {
            var result = step();
            if (!deadline.Complete()) throw new TimeoutException(); // done as the deadline disposed the connection
            return result;
        }
        catch (Exception e) when (deadline.HasExpired)
        {
            throw new IOException($"{_address}: {late} within {_limit.TotalSeconds:0.#} s", e);
        }
        catch (Exception e) when (e is IOException or SocketException or HandshakeException or AuthenticationException or MessagePackSerializationException or ObjectDisposedException)
        {
            throw new IOException($"{_address}: {e.Message}", e);
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

using System.Buffers;
using System.Buffers.Binary;
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

    public void StartReading() =>
        new Thread(ReadLoop) { IsBackground = true, Name = $"River reader {Remote?.Id}" }.Start();

    /// <summary>Writes bytes already framed; false when the connection has failed.</summary>
    public bool Write(ReadOnlySpan<byte> bytes)
    {
        try
        {
            stream.Write(bytes);
            return true;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            Close($"write failed: {e.Message}");
            return false;
        }
    }

    public void Close(string reason)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // already reset by the other side
        }
        stream.Dispose();
        transport.OnConnectionClosed(this, reason);
    }

    /// <summary>How long a reader polls for the next frame before it blocks (waking a blocked thread costs tens of µs).</summary>
    public static TimeSpan SpinBeforeBlocking { get; set; } = TimeSpan.FromMicroseconds(50);

    private void AwaitData()
    {
        if (socket.Available > 0) return;
        var budget = SpinBudget.Start(SpinBeforeBlocking);
        while (socket.Available == 0 && budget.Spin())
        {
        }
    }

    private void ReadLoop()
    {
        PeerLink.t_isTransportThread = true;
        var max = transport.Options.MaxFrameSize;
        var buffer = new byte[64 * 1024];
        int start = 0, end = 0;
        try
        {
            while (!IsClosed)
            {
                if (end == buffer.Length)
                {
                    Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                    end -= start;
                    start = 0;
                }
                AwaitData();
                var n = stream.Read(buffer, end, buffer.Length - end);
                if (n == 0)
                {
                    Close("the other side closed the connection");
                    return;
                }
                end += n;
                Volatile.Write(ref Link!.LastHeard, Environment.TickCount64);
                while (end - start >= 4)
                {
                    var length = BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(start));
                    if (length <= 0 || length > max)
                    {
                        Close($"a frame length of {length} bytes is outside 1..{max}");
                        return;
                    }
                    if (end - start - 4 < length)
                    {
                        // Incomplete: make sure the whole frame will fit, growing only for a frame already judged legal.
                        if (4 + length > buffer.Length - start)
                        {
                            var target = 4 + length > buffer.Length ? new byte[4 + length] : buffer;
                            Buffer.BlockCopy(buffer, start, target, 0, end - start);
                            end -= start;
                            start = 0;
                            buffer = target;
                        }
                        break;
                    }
                    if (!transport.OnFrame(this, buffer.AsMemory(start + 4, length)))
                    {
                        Close("a malformed frame");
                        return;
                    }
                    start += 4 + length;
                }
                if (start == end)
                {
                    start = end = 0;
                    if (buffer.Length > 16 << 20) buffer = new byte[64 * 1024]; // keep a buffer that big values need, not a huge one
                }
            }
        }
        catch (Exception e)
        {
            // This thread is the connection's; nothing it meets may take the VM down with it.
            Close($"read failed: {e.Message}");
        }
    }
}

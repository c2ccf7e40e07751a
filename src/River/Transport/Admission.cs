using System.Net.Sockets;

namespace River;

/// <summary>
/// Inbound connections until they have authenticated. A connection gets no thread until its first bytes
/// arrive: one thread accepts and watches every silent connection, and closes those silent for
/// <see cref="FirstBytesTimeout"/>. At most <see cref="MaxHandshaking"/> handshakes run at once; when
/// that many run, the oldest is cut to make room, so connections that stall cannot keep a VM with the key out.
/// </summary>
internal sealed class Admission(Socket listener, Func<Socket, bool> handshake, Action<Socket, string> refuse, CancellationToken stop)
{
    public static TimeSpan FirstBytesTimeout { get; set; } = TimeSpan.FromSeconds(1);

    private const int MaxHandshaking = 64, MaxSilent = 1024;

    private readonly List<(Socket Socket, long Since)> _silent = [];
    private readonly LinkedList<Socket> _handshaking = new();

    public void Start() => new Thread(Run) { IsBackground = true, Name = "River acceptor" }.Start();

    private void Run()
    {
        var ready = new List<Socket>();
        while (!stop.IsCancellationRequested)
        {
            ready.Clear();
            ready.Add(listener);
            foreach (var (socket, _) in _silent) ready.Add(socket);
            try
            {
                Socket.Select(ready, null, null, 100_000);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                if (stop.IsCancellationRequested) return;
                DropClosed();
                continue;
            }
            foreach (var socket in ready)
            {
                if (socket == listener) Accept();
                else
                {
                    _silent.RemoveAll(s => s.Socket == socket);
                    StartHandshake(socket);
                }
            }
            var now = Environment.TickCount64;
            for (var i = _silent.Count - 1; i >= 0; i--)
            {
                if (now - _silent[i].Since < FirstBytesTimeout.TotalMilliseconds) continue;
                refuse(_silent[i].Socket, $"no bytes within {FirstBytesTimeout.TotalSeconds:0.#} s");
                _silent[i].Socket.Dispose();
                _silent.RemoveAt(i);
            }
        }
        foreach (var (socket, _) in _silent) socket.Dispose();
    }

    private void Accept()
    {
        Socket socket;
        try
        {
            socket = listener.Accept();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return; // reset before it was accepted, or the VM is stopping
        }
        if (_silent.Count >= MaxSilent)
        {
            refuse(_silent[0].Socket, $"more than {MaxSilent} connections wait for their first bytes");
            _silent[0].Socket.Dispose();
            _silent.RemoveAt(0);
        }
        _silent.Add((socket, Environment.TickCount64));
    }

    /// <summary>A socket closed under Select (by a refusal elsewhere): drop the closed ones.</summary>
    private void DropClosed() => _silent.RemoveAll(s => s.Socket.SafeHandle.IsClosed);

    private void StartHandshake(Socket socket)
    {
        LinkedListNode<Socket> node;
        lock (_handshaking)
        {
            if (_handshaking.Count >= MaxHandshaking)
            {
                var oldest = _handshaking.First!.Value;
                _handshaking.RemoveFirst();
                refuse(oldest, $"cut: {MaxHandshaking} newer connections are authenticating");
                oldest.Dispose(); // its handshake thread fails at once and ends
            }
            node = _handshaking.AddLast(socket);
        }
        new Thread(() =>
        {
            try
            {
                handshake(socket);
            }
            finally
            {
                lock (_handshaking)
                    if (node.List is not null) _handshaking.Remove(node);
            }
        }, 256 * 1024)
        { IsBackground = true, Name = "River handshake" }.Start();
    }
}

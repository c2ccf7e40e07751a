using System.Net.Sockets;

namespace River;

/// <summary>
/// Inbound connections until they have authenticated. A connection gets no thread until its first bytes
/// arrive: one thread accepts and watches every silent connection, and closes those silent for
/// <see cref="FirstBytesTimeout"/>. At most <see cref="MaxHandshaking"/> handshakes run at once, and
/// <see cref="MaxPerSource"/> from one address; past either, the oldest is cut to make room, so
/// connections that stall cannot keep a VM with the key out (an honest handshake takes milliseconds once
/// its code is compiled; a fresh `river status` on a machine loaded by 32 starting VMs took over a second to
/// send its first bytes, hence 5 s: a silent connection costs a socket, not a thread).
/// </summary>
/// <remarks>
/// The handshake is given a function that takes its connection out of admission's hands before it is
/// adopted: false when it was cut meanwhile (its socket is disposed, it must not carry frames).
/// </remarks>
internal sealed class Admission(Socket listener, Action<Socket, string, Func<bool>> handshake, Action<string, string> refuse, CancellationToken stop)
{
    public static TimeSpan FirstBytesTimeout { get; set; } = TimeSpan.FromSeconds(5);

    private const int MaxHandshaking = 64, MaxPerSource = 16, MaxSilent = 1024;

    // Addresses are read once, at accept: a socket cut by the acceptor may be closed before its thread looks.
    private readonly List<(Socket Socket, string Remote, long Since)> _silent = [];
    private readonly LinkedList<(Socket Socket, string Remote, string Source)> _handshaking = new();

    public void Start() => new Thread(Run) { IsBackground = true, Name = "River acceptor" }.Start();

    private void Run()
    {
        var ready = new List<Socket>();
        while (!stop.IsCancellationRequested)
        {
            ready.Clear();
            ready.Add(listener);
            foreach (var (socket, _, _) in _silent) ready.Add(socket);
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
                    var index = _silent.FindIndex(s => s.Socket == socket);
                    var remote = _silent[index].Remote;
                    _silent.RemoveAt(index);
                    StartHandshake(socket, remote);
                }
            }
            var now = Environment.TickCount64;
            for (var i = _silent.Count - 1; i >= 0; i--)
            {
                if (now - _silent[i].Since < FirstBytesTimeout.TotalMilliseconds) continue;
                refuse(_silent[i].Remote, $"no bytes within {FirstBytesTimeout.TotalSeconds:0.#} s");
                _silent[i].Socket.Dispose();
                _silent.RemoveAt(i);
            }
        }
        foreach (var (socket, _, _) in _silent) socket.Dispose();
    }

    private void Accept()
    {
        Socket socket;
        string remote;
        try
        {
            socket = listener.Accept();
            remote = socket.RemoteEndPoint?.ToString() ?? "?";
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return; // reset before it was accepted, or the VM is stopping
        }
        if (_silent.Count >= MaxSilent)
        {
            refuse(_silent[0].Remote, $"more than {MaxSilent} connections wait for their first bytes");
            _silent[0].Socket.Dispose();
            _silent.RemoveAt(0);
        }
        _silent.Add((socket, remote, Environment.TickCount64));
    }

    /// <summary>A socket closed under Select (by a refusal elsewhere): drop the closed ones.</summary>
    private void DropClosed() => _silent.RemoveAll(s => s.Socket.SafeHandle.IsClosed);

    private void StartHandshake(Socket socket, string remote)
    {
        var source = remote.LastIndexOf(':') is var colon and > 0 ? remote[..colon] : remote;
        LinkedListNode<(Socket Socket, string Remote, string Source)> node;
        lock (_handshaking)
        {
            if (_handshaking.Count(h => h.Source == source) >= MaxPerSource)
                Cut(_handshaking.First(h => h.Source == source), $"{MaxPerSource} newer connections from {source} are authenticating");
            else if (_handshaking.Count >= MaxHandshaking) Cut(_handshaking.First!.Value, $"{MaxHandshaking} newer connections are authenticating");
            node = _handshaking.AddLast((socket, remote, source));
        }
        new Thread(() =>
        {
            try
            {
                handshake(socket, remote, () => Leave(node));
            }
            finally
            {
                Leave(node);
            }
        }, 256 * 1024)
        { IsBackground = true, Name = "River handshake" }.Start();
    }

    /// <summary>Takes a handshake off the list admission may cut from; false when it was cut already.</summary>
    private bool Leave(LinkedListNode<(Socket Socket, string Remote, string Source)> node)
    {
        lock (_handshaking)
        {
            if (node.List is null) return false;
            _handshaking.Remove(node);
            return true;
        }
    }

    /// <summary>Ends a handshake to make room: its thread fails at once and ends.</summary>
    private void Cut((Socket Socket, string Remote, string Source) handshake, string reason)
    {
        _handshaking.Remove(handshake);
        refuse(handshake.Remote, $"cut: {reason}");
        handshake.Socket.Dispose();
    }
}

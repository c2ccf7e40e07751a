using System.Net;
using System.Net.Sockets;

namespace River.Tests.Security;

/// <summary>Reads a process's /proc/&lt;pid&gt;/status (Linux), where a VM's threads and memory show.</summary>
internal static class ProcStatus
{
    /// <summary>The number in a field such as "Threads" or "VmRSS" (kB).</summary>
    public static long Read(int pid, string field)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0]);
        throw new InvalidOperationException($"no {field} in /proc/{pid}/status");
    }
}

/// <summary>
/// A TCP port on loopback (any 127.x.y.z) that counts who connects; it closes each connection at once, or never answers
/// (<paramref name="silent"/>: the connection is held open until dispose, as a black hole would).
/// </summary>
internal sealed class CountingListener : IDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _held = [];
    private int _accepted;

    public CountingListener(bool silent = false, IPAddress? address = null)
    {
        _listener = new TcpListener(address ?? IPAddress.Loopback, 0);
        _listener.Start(1024);
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket socket;
                try
                {
                    socket = await _listener.AcceptSocketAsync(_stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }
                Interlocked.Increment(ref _accepted);
                if (!silent) socket.Dispose();
                else
                    lock (_held) _held.Add(socket);
            }
        });
    }

    public int Port { get; }

    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Waits until at least <paramref name="count"/> connections came; false after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Accepted < count)
        {
            if (DateTime.UtcNow > deadline) return false;
            await Task.Delay(50);
        }
        return true;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        lock (_held)
            foreach (var socket in _held) socket.Dispose();
    }
}

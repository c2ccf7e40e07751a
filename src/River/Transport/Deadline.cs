using System.Net.Sockets;

namespace River;

/// <summary>
/// Disposes a socket or stream when a step (a connect, a handshake) does not finish in time. The step and
/// the deadline each claim it once: a deadline that fires as the step finishes either wins (the step sees
/// <see cref="Complete"/> false) or does nothing, so a connection that went on to carry frames is never
/// disposed under its writers by a stale timer.
/// </summary>
internal sealed class Deadline : IDisposable
{
    private const int Running = 0, Expired = 1, Done = 2;

    private readonly IDisposable _target;
    private readonly Timer _timer;
    private int _state;

    public Deadline(IDisposable target, TimeSpan limit)
    {
        _target = target;
        _timer = new Timer(static s => ((Deadline)s!).Expire(), this, limit, Timeout.InfiniteTimeSpan);
    }

    /// <summary>True once the deadline has passed and disposed the target.</summary>
    public bool HasExpired => Volatile.Read(ref _state) == Expired;

    private void Expire()
    {
        if (Interlocked.CompareExchange(ref _state, Expired, Running) == Running) _target.Dispose();
    }

    /// <summary>The step is done: true when it finished first (the target stays open), false when the deadline disposed it.</summary>
    public bool Complete() => Interlocked.CompareExchange(ref _state, Done, Running) != Expired;

    public void Dispose() => _timer.Dispose();

    /// <summary>
    /// Connects <paramref name="socket"/> within <paramref name="limit"/>, by disposing it when time is up: a
    /// blocking connect alone waits for the kernel's SYN retries, minutes when nothing answers.
    /// </summary>
    /// <exception cref="TimeoutException">The limit passed first (the socket is disposed).</exception>
    /// <exception cref="SocketException">The connect failed (refused, no route) within the limit.</exception>
    public static void Connect(Socket socket, string host, int port, TimeSpan limit)
    {
        using var deadline = new Deadline(socket, limit);
        try
        {
            socket.Connect(host, port);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException && deadline.HasExpired)
        {
            throw new TimeoutException($"no connection within {limit.TotalSeconds:0.#} s", e);
        }
        if (!deadline.Complete()) throw new TimeoutException($"no connection within {limit.TotalSeconds:0.#} s");
    }
}

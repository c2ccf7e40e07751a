using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace River.Tests.Security;

/// <summary>
/// A man in the middle without the cluster key: it accepts connections on loopback, dials the target VM
/// for each and forwards bytes both ways. It knows the framing (handshake frames, then records of
/// <c>[len][payload][32-byte tag]</c>), so it forwards whole units and can inject, replay or reorder
/// them at unit boundaries, as an attacker on the path would. <c>wrap</c> may replace both streams
/// (a relay that ends TLS on each side); then bytes are forwarded as they come.
/// </summary>
internal sealed class Relay : IDisposable
{
    public delegate Task<(Stream FromDialer, Stream ToAcceptor)> Wrap(Stream fromDialer, Stream toAcceptor);

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _target;
    private readonly Wrap? _wrap;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Relayed> _connections = [];

    public Relay(int target, Wrap? wrap = null)
    {
        _target = target;
        _wrap = wrap;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = AcceptLoopAsync();
    }

    public int Port { get; }

    public string Address => $"127.0.0.1:{Port}";

    public IReadOnlyList<Relayed> Connections
    {
        get
        {
            lock (_connections) return [.. _connections];
        }
    }

    /// <summary>Wrapping failures (TLS on either side), for the test's messages.</summary>
    public List<string> Errors { get; } = [];

    /// <summary>
    /// The connection that carries the link: open, with at least <paramref name="records"/> records each way.
    /// A VM re-dials a seed it knows under another address, so short-lived duplicates come and go beside it.
    /// </summary>
    public async Task<Relayed> LiveAsync(int records, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (Connections.FirstOrDefault(c => !c.Closed.IsCompleted && c.ToAcceptor.RecordCount >= records && c.ToDialer.RecordCount >= records) is { } live)
                return live;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"no relayed connection with {records} records each way within {timeout}: {string.Join(", ", Connections)}");
            await Task.Delay(50);
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket fromDialer;
            try
            {
                fromDialer = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            _ = RelayAsync(fromDialer);
        }
    }

    private async Task RelayAsync(Socket fromDialer)
    {
        var toAcceptor = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Stream dialerSide = new NetworkStream(fromDialer, ownsSocket: true), acceptorSide;
        try
        {
            await toAcceptor.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _target), _stop.Token);
            acceptorSide = new NetworkStream(toAcceptor, ownsSocket: true);
            if (_wrap is not null) (dialerSide, acceptorSide) = await _wrap(dialerSide, acceptorSide);
        }
        catch (Exception e)
        {
            lock (Errors) Errors.Add(e.Message);
            await dialerSide.DisposeAsync();
            toAcceptor.Dispose();
            return;
        }
        var framed = _wrap is null;
        // Dialer to acceptor: hello and proof come before records; acceptor to dialer: hello, proof and welcome.
        var relayed = new Relayed(new Pump(dialerSide, acceptorSide, 2, framed), new Pump(acceptorSide, dialerSide, 3, framed), [dialerSide, acceptorSide]);
        lock (_connections) _connections.Add(relayed);
        await Task.WhenAny(relayed.ToAcceptor.RunAsync(_stop.Token), relayed.ToDialer.RunAsync(_stop.Token));
        // Either side closing ends both, as a relay that only forwards would.
        await dialerSide.DisposeAsync();
        await acceptorSide.DisposeAsync();
        relayed.SetClosed();
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
    }
}

/// <summary>One relayed connection: a pump each way.</summary>
internal sealed class Relayed(Pump toAcceptor, Pump toDialer, Stream[] sides)
{
    /// <summary>Closes both sides at once, as a network fault that ends the connection would.</summary>
    public void Cut()
    {
        foreach (var side in sides) side.Dispose();
    }

    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Pump ToAcceptor { get; } = toAcceptor;

    public Pump ToDialer { get; } = toDialer;

    /// <summary>Completes once both sides are closed.</summary>
    public Task Closed => _closed.Task;

    internal void SetClosed() => _closed.TrySetResult();

    public override string ToString() => $"[{ToAcceptor.RecordCount} to acceptor, {ToDialer.RecordCount} to dialer{(Closed.IsCompleted ? ", closed" : "")}]";
}

/// <summary>Forwards one direction, whole units at a time; injections are written between units.</summary>
internal sealed class Pump(Stream from, Stream to, int handshakeFrames, bool framed)
{
    public const int TagSize = 32;

    private readonly SemaphoreSlim _write = new(1, 1);
    private readonly List<byte[]> _records = [];
    private int _holdNext, _blackhole;
    private long _blackholed;

    public int RecordCount
    {
        get
        {
            lock (_records) return _records.Count;
        }
    }

    /// <summary>The records forwarded so far, whole (length, payload, tag).</summary>
    public IReadOnlyList<byte[]> Records
    {
        get
        {
            lock (_records) return [.. _records];
        }
    }

    /// <summary>Writes <paramref name="bytes"/> to this direction's receiver between two units.</summary>
    public async Task InjectAsync(byte[] bytes)
    {
        await _write.WaitAsync();
        try
        {
            await to.WriteAsync(bytes);
            await to.FlushAsync();
        }
        finally
        {
            _write.Release();
        }
    }

    /// <summary>From now on, records read are dropped, not forwarded: a path that silently loses everything one way.</summary>
    public void Blackhole() => Volatile.Write(ref _blackhole, 1);

    /// <summary>Bytes of records dropped since <see cref="Blackhole"/>.</summary>
    public long BlackholedBytes => Interlocked.Read(ref _blackholed);

    /// <summary>Holds the next record back and sends it after the one following it: the receiver sees two records swapped.</summary>
    public void SwapNextTwoRecords() => Volatile.Write(ref _holdNext, 1);

    public async Task RunAsync(CancellationToken cancel)
    {
        try
        {
            if (!framed)
            {
                await from.CopyToAsync(to, cancel);
                return;
            }
            var head = new byte[4];
            byte[]? held = null;
            for (var unit = 0; ; unit++)
            {
                await from.ReadExactlyAsync(head, cancel);
                var isRecord = unit >= handshakeFrames;
                var bytes = new byte[4 + BinaryPrimitives.ReadInt32LittleEndian(head) + (isRecord ? TagSize : 0)];
                head.CopyTo(bytes, 0);
                await from.ReadExactlyAsync(bytes.AsMemory(4), cancel);
                if (isRecord && Volatile.Read(ref _blackhole) == 1)
                {
                    Interlocked.Add(ref _blackholed, bytes.Length);
                    continue;
                }
                if (isRecord && held is null && Interlocked.Exchange(ref _holdNext, 0) == 1)
                {
                    held = bytes;
                    continue;
                }
                await _write.WaitAsync(cancel);
                try
                {
                    await to.WriteAsync(bytes, cancel);
                    if (held is not null) await to.WriteAsync(held, cancel);
                    held = null;
                    await to.FlushAsync(cancel);
                }
                finally
                {
                    _write.Release();
                }
                if (isRecord)
                    lock (_records) _records.Add(bytes);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException or OverflowException or ArgumentOutOfRangeException)
        {
            // a side closed (or sent what no VM would): the relay closes both
        }
    }
}

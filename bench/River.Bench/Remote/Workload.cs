using System.Diagnostics;

namespace River.Bench.Remote;

/// <summary>
/// What a remote session does in one rep. <see cref="Clients"/> client ends each talk to a far end of
/// their own in the other process. An echo workload keeps <see cref="Window"/> requests in flight per
/// client until <see cref="Count"/> replies came back; a one-way workload sends <see cref="Count"/>
/// messages, then a sync that the far end answers once all before it arrived. A message carries
/// <see cref="Payload"/> (a <c>byte[]</c>) or, when it is null, a small counter.
/// </summary>
internal sealed record Workload(int Clients, int Window, int Count, byte[]? Payload, bool Echo)
{
    public static Workload PingPong(int payloadBytes, int trips) => new(1, 1, trips, Bytes(payloadBytes), true);

    public static Workload RequestReply(int clients, int window, int perClient) => new(clients, window, perClient, null, true);

    public static Workload OneWay(int payloadBytes, int count) => new(1, 0, count, Bytes(payloadBytes), false);

    public override string ToString() =>
        $"{(Echo ? $"{Clients} → {Clients} request/reply, window {Window:N0}" : "one-way")}, {Count:N0} × {(Payload is null ? "counter" : $"{Payload.Length:N0} B")}";

    /// <summary>With one request in flight each round trip is timed (client 0).</summary>
    public bool TimesTrips => Echo && Window == 1;

    private static byte[] Bytes(int n)
    {
        var b = new byte[n];
        new Random(n).NextBytes(b);
        return b;
    }
}

/// <summary>One rep: how long it took, and for a ping-pong each round trip in ns.</summary>
internal readonly record struct RemoteSample(double Seconds, double[]? TripNs);

/// <summary>River or a baseline, with its far end running in another process.</summary>
internal interface IRemoteSide : IDisposable
{
    /// <summary>"River", or the baseline's name in results: "raw-tcp", "akka.net", "proto.actor".</summary>
    string Name { get; }

    /// <summary>Sets up the client ends and their far ends for <paramref name="work"/>; reps run on the session.</summary>
    ISession Open(Workload work);
}

/// <summary>Client ends and far ends set up for one workload, kept across reps.</summary>
internal interface ISession : IDisposable
{
    RemoteSample RunOnce();
}

/// <summary>
/// The request window every client end runs, whatever it sends with: <see cref="Start"/> sends up to
/// <c>Window</c> requests, <see cref="Reply"/> counts a reply and sends one more request for it until
/// <c>Count</c> were sent; done at <c>Count</c> replies. Times each trip when a clock is given.
/// </summary>
internal sealed class RequestWindow(Workload work, TripClock? clock, Action<int> send)
{
    private int _sent, _received;

    public void Start()
    {
        _received = 0;
        for (_sent = 0; _sent < Math.Min(work.Window, work.Count); _sent++)
        {
            clock?.Sent();
            send(_sent);
        }
    }

    /// <summary>Counts a reply and sends the next request, if any; true when the last reply came.</summary>
    public bool Reply()
    {
        clock?.Replied();
        if (_sent < work.Count)
        {
            clock?.Sent();
            send(_sent++);
        }
        return ++_received == work.Count;
    }
}

/// <summary>Times the round trips of a ping-pong (one request in flight): send, reply, send, reply...</summary>
internal sealed class TripClock(int trips)
{
    private readonly long[] _ticks = new long[trips];
    private long _sentAt;
    private int _n;

    public void Sent() => _sentAt = Stopwatch.GetTimestamp();

    public void Replied()
    {
        if (_n < _ticks.Length) _ticks[_n++] = Stopwatch.GetTimestamp() - _sentAt;
    }

    /// <summary>The trips since the last call, in ns; starts over.</summary>
    public double[] Take()
    {
        var ns = new double[_n];
        for (var i = 0; i < _n; i++) ns[i] = _ticks[i] * 1e9 / Stopwatch.Frequency;
        _n = 0;
        return ns;
    }
}

/// <summary>
/// Client ends that are threads (River's thread VRs, raw TCP client threads), run in lockstep: each rep
/// the bench wakes them all, they work, and the rep lasts until the last one is done. A failing worker
/// fails the rep instead of hanging it.
/// </summary>
internal sealed class Gang(int workers, TimeSpan timeout) : IDisposable
{
    private readonly ManualResetEventSlim[] _go = [.. Enumerable.Range(0, workers).Select(_ => new ManualResetEventSlim(false))];
    private readonly ManualResetEventSlim[] _done = [.. Enumerable.Range(0, workers).Select(_ => new ManualResetEventSlim(false))];
    private volatile bool _stopping;
    private volatile Exception? _error;

    /// <summary>A worker's loop: runs <paramref name="rep"/> each time the bench starts a rep, until the gang is disposed.</summary>
    public void Serve(int worker, Action rep)
    {
        try
        {
            while (true)
            {
                _go[worker].Wait();
                _go[worker].Reset();
                if (_stopping) return;
                rep();
                _done[worker].Set();
            }
        }
        catch (Exception e)
        {
            _error ??= e;
            foreach (var d in _done) d.Set();
            throw;
        }
    }

    /// <summary>Runs worker <paramref name="worker"/> on a thread of its own (a failure is reported by <see cref="RunOnce"/>).</summary>
    public void StartThread(int worker, Action rep, string name) => new Thread(() =>
    {
        try
        {
            Serve(worker, rep);
        }
        catch (Exception)
        {
            // kept by Serve; RunOnce throws it
        }
    })
    { IsBackground = true, Name = name }.Start();

    /// <summary>Starts a rep on every worker and waits for all; returns its length in seconds.</summary>
    public double RunOnce()
    {
        foreach (var d in _done) d.Reset();
        var start = Stopwatch.GetTimestamp();
        foreach (var g in _go) g.Set();
        foreach (var d in _done)
            if (!d.Wait(timeout)) throw new TimeoutException($"A client end did not finish its rep within {timeout.TotalSeconds:0} s.");
        var seconds = Measure.Seconds(start);
        if (_error is { } e) throw new InvalidOperationException($"A client end failed: {e.Message}", e);
        return seconds;
    }

    public void Dispose()
    {
        _stopping = true;
        foreach (var g in _go) g.Set();
    }
}

/// <summary>Tells a client actor to run one rep of its request window; it completes <see cref="Done"/> at the last reply.</summary>
internal sealed record Go(TaskCompletionSource Done);

/// <summary>
/// Client ends that are actors (the Akka.NET and Proto.Actor baselines): each rep sends every client a
/// <see cref="Go"/> and lasts until all have completed it.
/// </summary>
internal sealed class ActorClients(int clients, Action<int, Go> send, Action stop, TripClock? clock, TimeSpan timeout, string runtime) : ISession
{
    public RemoteSample RunOnce()
    {
        var done = new Task[clients];
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < clients; i++)
        {
            var go = new Go(new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            done[i] = go.Done.Task;
            send(i, go);
        }
        if (!Task.WaitAll(done, timeout)) throw new TimeoutException($"{runtime} clients did not finish a rep within {timeout.TotalSeconds:0} s.");
        return new RemoteSample(Measure.Seconds(start), clock?.Take());
    }

    public void Dispose() => stop();
}

namespace River.Tests.Transport;

/// <summary>
/// Connections closed from many threads at once, on both sides, while VR threads write on them: the VMs
/// survive (an exception escaping a writer on the thread pool would end this process), every close is
/// noticed and re-dialed, and the link delivers every packet once and in order across them all.
/// </summary>
public class ConnectionChurnTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private const int Senders = 4, Closes = 40, Closers = 3;

    [Fact]
    public async Task Connections_closed_concurrently_under_writes_are_reopened_and_lose_nothing()
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        await using var a = await RiverVm.JoinAsync(TcpClusterTests.Options(name));
        await using var b = await RiverVm.JoinAsync(TcpClusterTests.Options(name, a));
        var churning = true;
        var closed = 0;
        var ordered = true;
        var received = new int[Senders];
        var run = Probe.Run(a, me =>
        {
            var sink = me.Deploy<Probe>(me.Discover(wait: Bound).Single(v => v.Id == b.Id), Probe.Register(s =>
            {
                var ended = 0;
                while (ended < Senders)
                {
                    var p = s.Recv(new { tag = "c" }, Bound);
                    var (from, n) = (p.Get<int>("s"), p.Get<int>("n"));
                    if (n < 0) ended++;
                    else if (n != received[from]++) ordered = false;
                }
                s.Send(s.Parent!.Value, new { tag = "done" });
            }));
            for (var i = 0; i < Senders; i++)
            {
                var sender = i;
                me.Deploy<Probe>(me.Vm, Probe.Register(w =>
                {
                    var n = 0;
                    while (Volatile.Read(ref churning)) w.Send(sink, new { tag = "c", s = sender, n = n++, pad = new byte[64 + n % 2000] });
                    w.Send(sink, new { tag = "c", s = sender, n = -1 });
                }));
            }
            // The churn below may take its whole bound on a busy machine; the sink's drain has one of its own after it.
            me.Recv(new { tag = "done" }, 2 * Bound);
        });

        var sides = new[] { ((TcpTransport)a.Network!, b.Id), ((TcpTransport)b.Network!, a.Id) };
        var deadline = DateTime.UtcNow + Bound;
        for (var round = 0; round < Closes && DateTime.UtcNow < deadline; round++)
        {
            var (transport, peer) = sides[round % 2];
            // Wait for the re-dialed connection, then close it from several threads at once, writes in flight.
            TcpConnection? connection;
            while ((connection = transport.LinkTo(peer)?.Connection) is null or { IsClosed: true } && DateTime.UtcNow < deadline) await Task.Delay(5);
            if (connection is null) break;
            await Task.Delay(Random.Shared.Next(1, 20));
            using var start = new Barrier(Closers);
            await Task.WhenAll(Enumerable.Range(0, Closers).Select(_ => Task.Run(() =>
            {
                start.SignalAndWait();
                connection.Close("closed by the churn test");
            })));
            Assert.True(connection.IsClosed);
            closed++;
        }
        Volatile.Write(ref churning, false);
        await run.WaitAsync(Bound);

        Assert.Equal(Closes, closed);
        Assert.True(ordered, "a packet arrived out of order, twice, or was lost across a reconnect");
        Assert.All(received, r => Assert.True(r > 0));
        Assert.Equal(2, a.Discover(null, null).Count);
        Assert.Equal(2, b.Discover(null, null).Count);
    }
}

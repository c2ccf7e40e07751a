using River.Tests.Cluster;

namespace River.Tests.Transport;

/// <summary>
/// Links write what the reader and heartbeat threads send on the thread pool (answers, control messages; a heartbeat or an
/// acknowledgement only when the link is busy or its socket full: else that thread writes it itself). A program whose
/// thread pool is blocked must still have its packets, and its heartbeats, go out.
/// Runs alone: it blocks the test host's thread pool for a few seconds.
/// </summary>
[Collection(ProcessCollection.Name)]
public class StarvedPoolTests
{
    [Fact]
    public async Task Packets_and_heartbeats_go_out_while_the_thread_pool_is_blocked()
    {
        var trips = 0;
        var suspected = false;
        await RemotePair.RunAsync((me, there) =>
        {
            var echo = me.Deploy<Probe>(there, Probe.Register(e =>
            {
                while (e.Recv() is { } p && p.Get<int>("n") >= 0) e.Send(p.Src, new { tag = "pong", n = p.Get<int>("n") });
            }));
            var gate = new ManualResetEventSlim(false); // not disposed: queued items still look at it after the test
            try
            {
                // Every pool thread, and each one the pool adds for a long while, waits at the gate.
                for (var i = 0; i < 1000; i++) ThreadPool.UnsafeQueueUserWorkItem(_ => gate.Wait(), null);
                // Round trips across a dozen heartbeats, each written at once or taken over from the blocked pool.
                var until = Environment.TickCount64 + 3000;
                for (var n = 0; Environment.TickCount64 < until; n++)
                {
                    me.Send(echo, new { tag = "ping", n });
                    Assert.Equal(n, me.Recv(new { tag = "pong" }, TimeSpan.FromSeconds(10)).Get<int>("n"));
                    trips++;
                }
                suspected = me.Discover().All(v => v.Id != there.Id);
            }
            finally
            {
                gate.Set();
            }
            me.Send(echo, new { tag = "ping", n = -1 });
        });
        Assert.True(trips > 100, $"{trips} round trips");
        Assert.False(suspected, "the other VM was suspected while the pool was blocked: its heartbeats did not arrive");
    }
}

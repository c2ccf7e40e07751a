namespace River.Tests.Transport;

/// <summary>What a link keeps until acknowledged costs a ping-pong no buffer per write.</summary>
public class LinkBufferTests
{
    private static readonly TimeSpan Bound = RemotePair.Bound;

    [Fact]
    public async Task A_ping_pong_does_not_allocate_a_buffer_per_write()
    {
        const int trips = 3000;
        long allocated = 0;
        await RemotePair.RunAsync((me, other) =>
        {
            var echo = me.Deploy<Probe>(other, Probe.Register(e =>
            {
                while (e.Recv() is { } p && p.Get<int>("n") >= 0) e.Send(p.Src, new { tag = "pong", n = p.Get<int>("n") });
            }));
            // Past the link's 16 spare buffers and its first acknowledgement (1,024 frames) before counting.
            for (var i = 0; i < 2000; i++)
            {
                me.Send(echo, new { tag = "ping", n = i });
                me.Recv(new { tag = "pong" }, Bound);
            }
            // This thread writes every ping itself (a VR's sends leave when it waits): what the link takes for it is counted here.
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < trips; i++)
            {
                me.Send(echo, new { tag = "ping", n = i });
                Assert.Equal(i, me.Recv(new { tag = "pong" }, Bound).Get<int>("n"));
            }
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            me.Send(echo, new { tag = "ping", n = -1 });
        });
        // Serializing the ping and receiving the pong take well under 4 KiB a trip; a 64 KiB buffer per write would be 16 times that.
        Assert.True(allocated / trips < 4096, $"{allocated / trips} bytes allocated per round trip on the sending VR's thread");
    }
}

namespace River.Tests.Transport;

/// <summary>What a one-way stream of small packets to a remote VR allocates on the sending VR's thread.</summary>
public class StreamAllocationTests
{
    private static readonly TimeSpan Bound = RemotePair.Bound;

    [Fact]
    public async Task A_stream_to_a_remote_VR_allocates_little_beyond_the_users_own_object()
    {
        const int packets = 20_000;
        long allocated = 0;
        var data = new byte[64];
        await RemotePair.RunAsync((me, other) =>
        {
            var sink = me.Deploy<Probe>(other, Probe.Register(s =>
            {
                for (var n = 0; ; n++)
                {
                    var p = s.Recv();
                    if (p.Get<string>("tag") == "sync") s.Send(p.Src, new { tag = "sync", n });
                    if (p.Get<string>("tag") == "stop") return;
                }
            }));
            void Stream()
            {
                for (var i = 0; i < packets; i++) me.Send(sink, new { tag = "d", data });
                me.Send(sink, new { tag = "sync" });
                me.Recv(new { tag = "sync" }, Bound);
            }
            Stream(); // the route, the link's spare buffers and the compiled readers are there before counting
            var before = GC.GetAllocatedBytesForCurrentThread();
            Stream();
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            me.Send(sink, new { tag = "stop" });
        });
        // The test's own anonymous object is 32 B a packet; a packet object and its array of values would add about 190 B.
        Assert.True(allocated / packets < 96, $"{allocated / packets} bytes allocated per packet on the sending VR's thread");
    }
}

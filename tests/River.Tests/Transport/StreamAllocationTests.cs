namespace River.Tests.Transport;

/// <summary>What a one-way stream of small packets to a remote VR allocates on the sending VR's thread.</summary>
public class StreamAllocationTests
{
    private static readonly TimeSpan Bound = RemotePair.Bound;

    // While the receiving VM lags, the link keeps what it sent in fresh 64 KiB buffers until acknowledged: up to the
    // send buffer limit (8 MiB by default, more than this whole stream), so a lag took 3 to 90 B a packet on a loaded
    // machine. That is memory bounded per link, not a cost per packet: the limit here bounds it to about twice 256 KiB
    // (a buffer holds at least half of what it can), under 40 B a packet, so what is left to see is what each packet costs.
    private const int SendBufferLimit = 256 << 10;

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
        }, options => options.SendBufferLimit = SendBufferLimit);
        // The test's own anonymous object is 32 B a packet; a packet object and its array of values would add about 190 B.
        Assert.True(allocated / packets < 96, $"{allocated / packets} bytes allocated per packet on the sending VR's thread");
    }
}

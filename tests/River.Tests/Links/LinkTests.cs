namespace River.Tests.Links;

/// <summary>Links on one VM and across an embedded cluster: a linked VR's failure is an error at the other's next call, or a packet when it traps exits.</summary>
public sealed class LinkTests
{
    internal static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private const string Boom = "System.InvalidOperationException: boom";

    /// <summary>Runs <paramref name="body"/> in a test VR on the first VM of a cluster of <paramref name="vms"/>.</summary>
    private static async Task Run(int vms, Action<Probe> body)
    {
        await using var cluster = new LocalCluster(vms);
        await Probe.Run(cluster.Vms[0], body).WaitAsync(Bound);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public Task A_linked_VRs_failure_wakes_the_other_in_Recv_with_an_error_naming_it_both_ways(int vms) => Run(vms, me =>
    {
        var (here, there) = (me.Vm, me.Discover()[^1]);
        // b linked to a: a's failure reaches b; d linked to c: d's failure reaches c (the link goes both ways).
        var a = Linked.Start(me, here);
        var b = Linked.Start(me, there, a);
        var c = Linked.Start(me, here);
        var d = Linked.Start(me, there, c);
        me.Monitor(b);
        me.Send(a, new { tag = "fail" });
        Assert.Equal((a, "failed", Boom), Linked.Heard(me, b, "caught"));
        me.Send(d, new { tag = "fail" });
        Assert.Equal((d, "failed", Boom), Linked.Heard(me, c, "caught"));

        // b did not catch it: it ended as failed, its error naming the link.
        var down = me.Recv(new { tag = "river.down", src = b }, Bound);
        Assert.Equal("failed", down.Get<string>("reason"));
        Assert.Equal($"River.LinkedVrFailedException: Linked VR {a} failed: {Boom}", down.Get<string>("error"));
    });

    [Fact]
    public Task A_normal_end_is_no_error_and_a_VR_that_traps_exits_gets_every_end_as_a_packet() => Run(2, me =>
    {
        var there = me.Discover()[^1];
        var trapper = Linked.Start(me, me.Vm, trap: true);
        var (ends, fails) = (Linked.Start(me, there, trapper), Linked.Start(me, there, trapper));
        me.Send(ends, new { tag = "end" });
        Assert.Equal((ends, "normal", null), Linked.Heard(me, trapper, "exit"));
        me.Send(fails, new { tag = "fail" });
        Assert.Equal((fails, "failed", Boom), Linked.Heard(me, trapper, "exit"));

        var plain = Linked.Start(me, there);
        var partner = Linked.Start(me, me.Vm, plain);
        me.Monitor(partner);
        me.Send(partner, new { tag = "end" });
        Assert.Equal("normal", me.Recv(new { tag = "river.down", src = partner }, Bound).Get<string>("reason"));
        Thread.Sleep(300); // an exit would come with the end: give it time to be (wrongly) raised
        me.Send(plain, new { tag = "ping" });
        me.Recv(new { tag = "pong", src = plain }, Bound);
        Assert.False(me.TryRecv(new { tag = "caught" }, out _));
    });

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public Task Linking_to_a_VR_nobody_knows_is_noproc_at_once(int vms) => Run(vms, me =>
    {
        var nobody = VrId.New();
        var trapper = Linked.Start(me, me.Discover()[^1], trap: true);
        me.Send(trapper, new { tag = "link", vr = nobody });
        Assert.Equal((nobody, "noproc", null), Linked.Heard(me, trapper, "exit"));

        me.Link(VrId.New());
        var e = Assert.Throws<LinkedVrFailedException>(() => me.Recv(new { tag = "never" }, Bound));
        Assert.Equal("noproc", e.Reason);
    });

    [Fact]
    public Task A_failure_travels_along_a_chain_of_links_each_VR_ending_as_failed() => Run(3, me =>
    {
        var vms = me.Discover();
        var trapper = Linked.Start(me, vms[0], trap: true);
        var a = Linked.Start(me, vms[1], trapper);
        var b = Linked.Start(me, vms[2], a);
        var c = Linked.Start(me, vms[0], b);
        me.Send(c, new { tag = "fail" });
        var (vr, reason, error) = Linked.Heard(me, trapper, "exit");
        Assert.Equal((a, "failed"), (vr, reason));
        Assert.Equal($"River.LinkedVrFailedException: Linked VR {b} failed: River.LinkedVrFailedException: Linked VR {c} failed: {Boom}", error);
    });

    [Fact]
    public Task After_Unlink_neither_side_hears_of_the_other() => Run(2, me =>
    {
        var there = me.Discover()[^1];
        var a = Linked.Start(me, me.Vm);
        var b = Linked.Start(me, there, a);
        me.Send(b, new { tag = "unlink", vr = a });
        me.Recv(new { tag = "unlinked", src = b }, Bound);
        me.Send(a, new { tag = "fail" });
        var c = Linked.Start(me, there);
        var d = Linked.Start(me, me.Vm, c);
        me.Send(c, new { tag = "unlink", vr = d }); // the one linked to unlinks: the same link
        me.Recv(new { tag = "unlinked", src = c }, Bound);
        me.Send(d, new { tag = "fail" });
        me.Monitor(a);
        me.Monitor(d);
        me.Recv(new { tag = "river.down", src = a }, Bound);
        me.Recv(new { tag = "river.down", src = d }, Bound);
        Thread.Sleep(300); // an exit would come with the ends: give it time to be (wrongly) raised
        foreach (var alive in new[] { b, c })
        {
            me.Send(alive, new { tag = "ping" });
            me.Recv(new { tag = "pong", src = alive }, Bound);
        }
        Assert.False(me.TryRecv(new { tag = "caught" }, out _));
    });

    [Fact]
    public async Task An_async_VR_awaiting_RecvAsync_wakes_with_the_error()
    {
        await using var cluster = new LocalCluster(2);
        await AsyncProbe.Run(cluster.Vms[0], async (me, stop) =>
        {
            var partner = me.Deploy<Linked>(me.Discover()[^1], me.Id, null, false);
            await me.RecvAsync(new { tag = "ready" }, Bound, stop);
            me.Link(partner);
            var waiting = me.RecvAsync(new { tag = "never" }, Bound, stop).AsTask();
            me.Send(partner, new { tag = "fail" });
            var e = await Assert.ThrowsAsync<LinkedVrFailedException>(() => waiting);
            Assert.Equal((partner, "failed", Boom), (e.Vr, e.Reason, e.Error));
        }).WaitAsync(Bound);
    }
}

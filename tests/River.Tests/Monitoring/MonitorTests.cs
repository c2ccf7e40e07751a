using System.Net;

namespace River.Tests.Monitoring;

/// <summary>Monitors: one river.down packet per Monitor call, with the monitored VR's real end, on one VM, across an embedded cluster and over TCP.</summary>
public sealed class MonitorTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    /// <summary>A VR that waits for "go", then returns, or throws when told to fail.</summary>
    private static string Worker() => Probe.Register(c =>
    {
        if (c.Recv(new { tag = "go" }).Get<bool>("fail")) throw new InvalidOperationException("boom");
    });

    private static (string Reason, string? Error) Down(Probe me, VrId vr)
    {
        var down = me.Recv(new { tag = "river.down", src = vr }, Bound);
        Assert.Equal(vr, down.Get<VrId>("vr"));
        return (down.Get<string>("reason"), down.Get<string?>("error"));
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 1)]
    public async Task A_monitor_reports_a_normal_end_and_a_failure_with_its_error(int vms, int on)
    {
        await using var cluster = new LocalCluster(vms);
        await Probe.Run(cluster.Vms[0], me =>
        {
            var vm = me.Discover().Single(v => v.Id == cluster.Vms[on].Id);
            var (ok, failing) = (me.Deploy<Probe>(vm, Worker()), me.Deploy<Probe>(vm, Worker()));
            me.Monitor(ok);
            me.Monitor(failing);
            me.Send(ok, new { tag = "go", fail = false });
            me.Send(failing, new { tag = "go", fail = true });
            Assert.Equal(("normal", null), Down(me, ok));
            Assert.Equal(("failed", "System.InvalidOperationException: boom"), Down(me, failing));
            Assert.False(me.TryRecv(new { tag = "river.down" }, out _), "one packet per monitor");
        }).WaitAsync(Bound);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task A_VR_nobody_knows_is_noproc_and_one_that_ended_is_answered_with_its_real_end(int vms)
    {
        await using var cluster = new LocalCluster(vms);
        await Probe.Run(cluster.Vms[0], me =>
        {
            var nobody = VrId.New();
            me.Monitor(nobody);
            Assert.Equal(("noproc", null), Down(me, nobody));

            var worker = me.Deploy<Probe>(me.Discover()[^1], Probe.Register(c => throw new TimeoutException("late")));
            me.Monitor(worker);
            Assert.Equal("failed", Down(me, worker).Reason);
            me.Monitor(worker); // it ended already: its VM remembers how
            Assert.Equal(("failed", "System.TimeoutException: late"), Down(me, worker));
        }).WaitAsync(Bound);
    }

    [Fact]
    public async Task After_Demonitor_no_down_packet_is_received_and_one_already_queued_is_removed()
    {
        await using var cluster = new LocalCluster(2);
        await Probe.Run(cluster.Vms[0], me =>
        {
            var there = me.Discover()[^1];
            var (first, second) = (me.Deploy<Probe>(there, Worker()), me.Deploy<Probe>(there, Worker()));
            me.Monitor(first);
            me.Monitor(second);
            me.Send(first, new { tag = "go", fail = false });
            Down(me, first); // proves the reports flow; now one that is queued, then one withdrawn before the end
            me.Monitor(first);
            var deadline = DateTime.UtcNow + Bound;
            while (me.Peek(new { tag = "river.down", src = first }) is null && DateTime.UtcNow < deadline) Thread.Sleep(5);
            me.Demonitor(first);
            me.Demonitor(second);
            me.Send(second, new { tag = "go", fail = false });
            Thread.Sleep(500);
            Assert.Null(me.Peek(new { tag = "river.down" }));
        }).WaitAsync(Bound);
    }

    [Fact]
    public async Task A_VR_whose_VM_leaves_is_reported_lost()
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        ClusterOptions Options(params RiverVm[] seeds)
        {
            var o = new ClusterOptions { Name = name, Key = Guid.NewGuid().ToByteArray().Concat(Guid.Empty.ToByteArray()).ToArray(), Bind = IPAddress.Loopback, Multicast = false };
            foreach (var s in seeds) o.Seeds.Add($"127.0.0.1:{s.Info.Port}");
            return o;
        }
        var key = Options().Key;
        var first = Options();
        first.Key = key;
        await using var a = await RiverVm.JoinAsync(first);
        var second = Options(a);
        second.Key = key;
        var b = await RiverVm.JoinAsync(second);
        try
        {
            await Probe.Run(a, me =>
            {
                var worker = me.Deploy<Probe>(me.Discover(2, Bound).Single(v => v.Id == b.Id), Worker());
                me.Monitor(worker);
                b.DisposeAsync().AsTask().Wait(Bound); // its VM goes away with it
                Assert.Equal(("lost", null), Down(me, worker));
            }).WaitAsync(Bound);
        }
        finally
        {
            await b.DisposeAsync();
        }
    }
}

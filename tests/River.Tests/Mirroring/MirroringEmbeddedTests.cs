using System.Collections.Concurrent;

namespace River.Tests.Mirroring;

/// <summary>
/// Mirroring in an embedded cluster: a counter mirrored on two VMs answers numbered requests with running sums
/// while the VM of one replica stops mid-stream; every request is answered once, in order, right; and every
/// copy the replicas sent of one answer is the same.
/// </summary>
public sealed class MirroringEmbeddedTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>
    /// What the replica of <paramref name="vr"/> on one VM sent, in order. A copy a mirror held and sent later
    /// (on becoming primary) carries its number already: it was counted when the replica sent it.
    /// </summary>
    private sealed class Copies(VrId vr) : IPacketObserver
    {
        public readonly ConcurrentQueue<string> InOrder = new();

        public void Sent(Packet packet)
        {
            if (packet.Src == vr && packet.MirrorSeq == 0) InOrder.Enqueue(packet.ToString());
        }

        public void Delivered(Packet packet)
        {
        }
    }

    /// <summary>
    /// Sends <paramref name="requests"/> numbered requests, at most <paramref name="window"/> unanswered, stopping VM
    /// <paramref name="stop"/>.Vm when request <paramref name="stop"/>.AtRequest has been sent; checks every answer.
    /// With <paramref name="timing"/> the counter polls (see MirroredCounter), and some poll must have come back empty.
    /// </summary>
    private static async Task<Copies[]> RunCounter(int requests, int window, (int Vm, int AtRequest)? stop, bool timing, int replicas = 2)
    {
        await using var cluster = new LocalCluster(replicas + 1);
        Copies[]? copies = null;
        await Probe.Run(cluster.Vms[0], me =>
        {
            var vms = me.Discover();
            var targets = cluster.Vms.Skip(1).Select(v => vms.Single(i => i.Id == v.Id)).ToList();
            var counter = me.DeployMirrored<MirroredCounter>(targets, timing);
            copies = [.. cluster.Vms.Skip(1).Select(vm =>
            {
                var replica = new Copies(counter);
                vm.AddPacketObserver(replica);
                return replica;
            })];
            Task? stopping = null;
            var (sent, answered) = (0, 0);
            long sum = 0;
            var misses = 0;
            while (answered < requests)
            {
                while (sent < requests && sent - answered < window)
                {
                    me.Send(counter, new { tag = "add", k = ++sent });
                    if (stop is { } s && sent == s.AtRequest) stopping = cluster.Vms[s.Vm].DisposeAsync().AsTask();
                }
                var reply = me.Recv(new { tag = "sum" }, Bound);
                Assert.Equal(++answered, reply.Get<int>("k")); // once each, in order
                Assert.Equal(sum += answered, reply.Get<long>("sum"));
                misses = Math.Max(misses, reply.Get<int>("misses"));
            }
            if (timing) Assert.True(misses > 0, "no TryRecv or timed Recv of the counter came back empty: the recorded outcomes were not exercised");
            Assert.False(me.TryRecv(new { tag = "sum" }, out var extra), $"an answer twice: {extra}");
            me.Send(counter, new { tag = "stop" });
            Assert.True(stopping?.Wait(Bound) ?? true, "the replica's VM did not stop");
        }).WaitAsync(Bound);
        return copies!;
    }

    /// <summary>Every replica sent the same packets in the same order (one stopped early, a prefix of them).</summary>
    private static void AllCopiesAgree(Copies[] copies)
    {
        var sent = copies.Select(c => c.InOrder.ToArray()).Where(s => s.Length > 0).OrderByDescending(s => s.Length).ToList();
        Assert.True(sent.Count >= 2, $"{sent.Count} replica(s) sent packets: more than one must have run");
        foreach (var other in sent.Skip(1)) Assert.Equal(sent[0].Take(other.Length), other);
    }

    [Fact]
    public async Task A_mirrored_counter_answers_every_request_once_in_order_and_both_replicas_agree()
    {
        var copies = await RunCounter(2_000, 100, stop: null, timing: false);
        AllCopiesAgree(copies);
    }

    [Theory]
    [InlineData(1, 500)]   // the primary's VM stops
    [InlineData(1, 1_900)]
    [InlineData(2, 1_000)] // the mirror's VM stops
    public async Task When_a_replicas_VM_stops_mid_stream_no_request_is_lost_or_answered_twice(int vm, int at)
    {
        AllCopiesAgree(await RunCounter(2_000, 100, (vm, at), timing: false));
    }

    [Fact]
    public async Task TryRecv_timed_Recv_and_Discover_follow_the_primary_so_replicas_send_the_same_answers()
    {
        AllCopiesAgree(await RunCounter(300, 3, (1, 150), timing: true));
    }

    /// <summary>
    /// A mirrored client of a mirrored counter loses the VM of one of its replicas halfway (vm 1: the primary's, vm 2:
    /// the mirror's): packets between two mirrored VRs, numbered and held by both sides' replicas, still reach the counter
    /// once each, and every answer comes once, in order.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task A_mirrored_client_of_a_mirrored_counter_loses_a_replica_and_every_request_is_answered_once(int vm)
    {
        const int Requests = 2_000;
        await using var cluster = new LocalCluster(5);
        await Probe.Run(cluster.Vms[0], me =>
        {
            var found = me.Discover();
            VmInfo On(int i) => found.Single(v => v.Id == cluster.Vms[i].Id);
            var counter = me.DeployMirrored<MirroredCounter>([On(3), On(4)], false);
            me.DeployMirrored<MirroredClient>([On(1), On(2)], counter, Requests);
            me.Recv(new { tag = "half" }, Bound);
            Assert.True(cluster.Vms[vm].DisposeAsync().AsTask().Wait(Bound));
            var done = me.Recv(new { tag = "done" }, Bound);
            Assert.Equal("", done.Get<string>("error"));
            Assert.Equal((long)Requests * (Requests + 1) / 2, done.Get<long>("sum"));
            Thread.Sleep(200);
            Assert.False(me.TryRecv((object?)null, out var extra), $"a packet twice: {extra}");
        }).WaitAsync(Bound * 2);
    }

    [Fact]
    public async Task Three_replicas_survive_the_loss_of_the_primary()
    {
        AllCopiesAgree(await RunCounter(1_000, 50, (1, 300), timing: false, replicas: 3));
    }

    /// <summary>True for request <paramref name="k"/> to <paramref name="counter"/>.</summary>
    private static bool IsRequest(Packet p, VrId counter, int k) => p.Dest == counter && p.TryGet<int>("k", out var n) && n == k;

    /// <summary>True for the first sending of <paramref name="counter"/>'s answer to request <paramref name="k"/> (not a held copy sent later).</summary>
    private static bool IsAnswer(Packet p, VrId counter, int k) => p.Src == counter && p.MirrorSeq == 0 && p.TryGet<int>("k", out var n) && n == k;

    /// <summary>
    /// Runs <paramref name="body"/> in a probe on VM 0 of <paramref name="vms"/> embedded VMs, with a counter mirrored on
    /// VMs 1 and 2 (On(i): VM i's info).
    /// </summary>
    private static async Task WithCounter(int vms, Action<Probe, IReadOnlyList<RiverVm>, VrId, Func<int, VmInfo>> body)
    {
        await using var cluster = new LocalCluster(vms);
        await Probe.Run(cluster.Vms[0], me =>
        {
            var found = me.Discover();
            VmInfo On(int i) => found.Single(v => v.Id == cluster.Vms[i].Id);
            body(me, cluster.Vms, me.DeployMirrored<MirroredCounter>([On(1), On(2)], false), On);
        }).WaitAsync(Bound);
    }

    /// <summary>The next answer of <paramref name="counter"/> is to request <paramref name="k"/>, with running sum <paramref name="sum"/>.</summary>
    private static void AssertAnswer(Probe me, VrId counter, int k, long sum)
    {
        var reply = me.Recv(new { tag = "sum", src = counter }, Bound);
        Assert.Equal(k, reply.Get<int>("k"));
        Assert.Equal(sum, reply.Get<long>("sum"));
    }

    [Fact]
    public Task A_request_that_reaches_the_primary_after_its_VM_stopped_is_answered_by_the_mirror() =>
        WithCounter(3, (me, vms, counter, On) =>
        {
            var (primary, mirror) = (vms[1], vms[2]);
            Assert.True(primary.TryGetLocal(counter, out var replica));

            // The mirror's VM goes on only once released (a packet to a plain VR there holds its inbox): no takeover yet.
            var plain = me.Deploy<MirroredCounter>(On(2));
            var holdMirror = HoldPacket.On(mirror, p => p.Dest == plain, () => me.Send(plain, new { tag = "add", k = 0 }));

            // Request 2 reaches the primary's VM, which stops (its replica ends) before the request reaches the group.
            var holdPrimary = HoldPacket.On(primary, p => IsRequest(p, counter, 2), () => me.Send(counter, new { tag = "add", k = 2 }));
            Assert.True(primary.DisposeAsync().AsTask().Wait(Bound));
            Assert.True(replica.Ended.Wait(Bound));
            holdPrimary.Release.Set();
            // Room for an acknowledgement of request 2 from the stopped primary to reach the sender before the mirror takes
            // over (one made the sender drop its copy, so the request was lost); without one, this only delays the takeover.
            Thread.Sleep(500);
            holdMirror.Release.Set();

            AssertAnswer(me, counter, 2, 2);
            AssertAnswer(me, plain, 0, 0);
        });

    [Fact]
    public Task Copies_sent_again_to_a_new_primary_go_before_a_new_request_that_sees_it_first() =>
        WithCounter(3, (me, vms, counter, On) =>
        {
            var (client, primary, mirror) = (vms[0], vms[1], vms[2]);

            // Requests 2-4 wait at the primary's VM, unlogged: the client keeps its copies.
            var holdPrimary = HoldPacket.On(primary, p => IsRequest(p, counter, 2), () =>
            {
                for (var k = 2; k <= 4; k++) me.Send(counter, new { tag = "add", k });
            });

            // The client's VM hears nothing more for now (a reply from a plain VR holds its inbox).
            var plain = me.Deploy<MirroredCounter>(On(2));
            var holdClient = HoldPacket.On(client, p => p.Src == plain, () => me.Send(plain, new { tag = "add", k = 0 }));

            // The primary's VM stops; the mirror takes over and announces itself.
            Assert.True(primary.DisposeAsync().AsTask().Wait(Bound));
            var group = mirror.Mirrors.Group(counter)!;
            Assert.True(SpinWait.SpinUntil(() => group.Primary == mirror.Id, Bound));

            // The client's VM adopts the new view, as its inbox would before sending its copies again, and request 5 is
            // sent right then, on this thread: it must not reach the new primary ahead of requests 2-4.
            client.Mirrors.Group(counter)!.Adopt(group.View, out _);
            me.Send(counter, new { tag = "add", k = 5 });
            holdClient.Release.Set();
            holdPrimary.Release.Set();

            long sum = 0;
            for (var k = 2; k <= 5; k++) AssertAnswer(me, counter, k, sum += k);
        });

    [Fact]
    public async Task A_monitor_of_a_mirrored_VR_reports_only_when_its_last_replica_is_gone()
    {
        await using var cluster = new LocalCluster(3);
        await Probe.Run(cluster.Vms[0], me =>
        {
            var vms = me.Discover();
            var counter = me.DeployMirrored<MirroredCounter>([.. cluster.Vms.Skip(1).Select(v => vms.Single(i => i.Id == v.Id))], false);
            me.Monitor(counter);
            cluster.Vms[1].DisposeAsync().AsTask().Wait(Bound); // the primary's VM
            me.Send(counter, new { tag = "add", k = 1 });
            Assert.Equal(1, me.Recv(new { tag = "sum" }, Bound).Get<long>("sum")); // served by the mirror, which took over
            Assert.Null(me.Peek(new { tag = "river.down" }));
            cluster.Vms[2].DisposeAsync().AsTask().Wait(Bound); // the last replica's VM
            var down = me.Recv(new { tag = "river.down", src = counter }, Bound);
            Assert.Equal("lost", down.Get<string>("reason"));
        }).WaitAsync(Bound);
    }

    [Fact]
    public async Task A_monitor_of_a_mirrored_VR_that_returns_reports_normal_once()
    {
        await using var cluster = new LocalCluster(2);
        await Probe.Run(cluster.Vms[0], me =>
        {
            var counter = me.DeployMirrored<MirroredCounter>(me.Discover(), false);
            me.Monitor(counter);
            me.Send(counter, new { tag = "stop" });
            Assert.Equal("normal", me.Recv(new { tag = "river.down", src = counter }, Bound).Get<string>("reason"));
            Thread.Sleep(200); // room for a second report, which must not come
            Assert.Null(me.Peek(new { tag = "river.down" }));
        }).WaitAsync(Bound);
    }

    [Fact]
    public async Task A_replica_added_on_another_VM_replays_the_log_and_carries_on_alone()
    {
        await WithCounter(4, (me, vms, counter, On) =>
        {
            var (k, sum) = (0, 0L);
            void Ask(int n)
            {
                for (var i = 0; i < n; i++) me.Send(counter, new { tag = "add", k = k + i + 1 });
                for (var i = 0; i < n; i++) AssertAnswer(me, counter, ++k, sum += k);
            }
            Ask(300);
            vms[1].DisposeAsync().AsTask().Wait(Bound); // the primary's VM: VM 2 takes over
            Ask(300);
            me.AddMirror(counter, On(3)); // VM 3's replica replays 600 requests
            Ask(300);
            vms[2].DisposeAsync().AsTask().Wait(Bound); // the last original replica: VM 3 goes on with the state it rebuilt
            Ask(300);
            Assert.False(me.TryRecv(new { tag = "sum" }, out var extra), $"an answer twice: {extra}");
            var refused = Assert.Throws<DeployException>(() => me.AddMirror(counter, On(3))).Message;
            Assert.True(refused.Contains("already runs a replica", StringComparison.Ordinal), refused);
        });
    }

    [Fact]
    public Task A_replica_added_by_AddMirror_sends_to_its_parent_on_the_parents_VM_once_it_is_the_primary() =>
        WithCounter(4, (me, vms, counter, On) =>
        {
            var (client, added) = (vms[0], vms[3]);
            me.AddMirror(counter, On(3)); // the primary, on VM 1, deploys it for the probe on VM 0

            // The added replica waits at its answer to request 1: it answers only once it is the primary.
            var holdAdded = HoldPacket.On(added, p => IsAnswer(p, counter, 1), () =>
            {
                me.Send(counter, new { tag = "add", k = 1 });
                me.Send(counter, new { tag = "add", k = 2 });
            }, sent: true);
            AssertAnswer(me, counter, 1, 1); // from the primary
            AssertAnswer(me, counter, 2, 3);

            // The client's VM hears nothing more for now, so no copy it sends again shows the added replica's VM where it is.
            var plain = me.Deploy<MirroredCounter>(On(2));
            var holdClient = HoldPacket.On(client, p => p.Src == plain, () => me.Send(plain, new { tag = "add", k = 0 }));
            Assert.True(vms[1].DisposeAsync().AsTask().Wait(Bound));
            Assert.True(vms[2].DisposeAsync().AsTask().Wait(Bound));
            var group = added.Mirrors.Group(counter)!;
            Assert.True(SpinWait.SpinUntil(() => group.Primary == added.Id, Bound));

            // The primary's replica answers request 1 on VM 1's route to the probe (VM 1 is gone: the send threw, and the
            // replica ended), or on its own.
            var second = new HoldPacket(p => IsAnswer(p, counter, 2), sent: true);
            second.Release.Set();
            added.AddPacketObserver(second);
            holdAdded.Release.Set();
            Assert.True(SpinWait.SpinUntil(() => second.Holding.IsSet || !added.TryGetLocal(counter, out _), Bound));
            Assert.True(added.TryGetLocal(counter, out _), "the added replica ended when it answered as the primary");
            holdClient.Release.Set();

            AssertAnswer(me, plain, 0, 0);
            me.Send(counter, new { tag = "add", k = 3 });
            AssertAnswer(me, counter, 3, 6);
        });

    [Fact]
    public async Task A_replica_cannot_be_added_once_the_log_is_longer_than_the_replay_limit()
    {
        var limit = MirrorGroup.ReplayLimit;
        MirrorGroup.ReplayLimit = 50;
        try
        {
            await using var cluster = new LocalCluster(3);
            await Probe.Run(cluster.Vms[0], me =>
            {
                var vms = me.Discover();
                var counter = me.DeployMirrored<MirroredCounter>([vms[0], vms[1]], false);
                for (var k = 1; k <= 100; k++) me.Send(counter, new { tag = "add", k });
                for (var k = 1; k <= 100; k++) me.Recv(new { tag = "sum" }, Bound);
                var refused = Assert.Throws<DeployException>(() => me.AddMirror(counter, vms[2]));
                Assert.Contains("can no longer be brought up to date by replay", refused.Message);
            }).WaitAsync(Bound);
        }
        finally
        {
            MirrorGroup.ReplayLimit = limit;
        }
    }

    [Fact]
    public async Task DeployMirrored_refuses_fewer_than_two_VMs_or_one_VM_twice()
    {
        await using var cluster = new LocalCluster(2);
        await Probe.Run(cluster.Vms[0], me =>
        {
            var vms = me.Discover();
            Assert.Contains("at least 2", Assert.Throws<ArgumentException>(() => me.DeployMirrored<MirroredCounter>([vms[0]])).Message);
            Assert.Contains("distinct", Assert.Throws<ArgumentException>(() => me.DeployMirrored<MirroredCounter>([vms[1], vms[1]])).Message);
        }).WaitAsync(Bound);
    }
}

using System.Diagnostics;
using Xunit.Abstractions;

namespace River.Tests.Flow;

/// <summary>End-to-end flow control in one process: VMs of a <see cref="LocalCluster"/> talk through frames, so the same credits apply.</summary>
public sealed class FlowEmbeddedTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_flood_to_a_slow_VR_on_another_VM_arrives_whole_and_in_order_with_its_queue_within_one_window()
    {
        // The sink sleeps 1 ms every 1,000 packets (not every 100, to keep the test short); it is still the slower side.
        const int Count = 200_000;
        await using var cluster = new LocalCluster(2);
        var watch = Stopwatch.StartNew();
        Packet? done = null;
        await Probe.Run(cluster.Vms[0], me =>
        {
            var sink = me.Deploy<FloodSink>(me.Discover()[1], Count, 1000);
            FloodSink.Flood(me, sink, Count);
            done = me.Recv(new { tag = "done" }, Bound);
        }).WaitAsync(Bound);
        output.WriteLine($"{Count:N0} packets in {watch.Elapsed.TotalSeconds:0.0} s, at most {done!.Get<int>("maxQueued"):N0} queued at the sink");
        Assert.Equal("", done.Get<string>("error"));
        // Credit bounds what is queued by one window (8 MiB of ~1.1 KiB frames: ~7,500 packets), far below the flood.
        Assert.InRange(done.Get<int>("maxQueued"), 0, (int)FlowControl.WindowPackets + 100);
    }

    /// <summary>
    /// A receiver counts credit in batches per sending VM (Mailbox), handed to that VM's ledger when a packet from another
    /// VM is taken, after a few dozen, when a take finds nothing, and at half a window. Two VMs each send five windows' worth
    /// to one VR that takes their packets interleaved at random, by receives and polls: credit lost in any
    /// of those hand-overs would add up until a sender waited for ever.
    /// </summary>
    [Fact]
    public async Task Credit_for_packets_taken_interleaved_from_two_VMs_all_comes_back()
    {
        const int PerSender = 5 * (int)FlowControl.WindowPackets;
        await using var cluster = new LocalCluster(3);
        await Probe.Run(cluster.Vms[0], me =>
        {
            var others = me.Discover().Where(v => v.Id != cluster.Vms[0].Id).ToList();
            for (var k = 0; k < 2; k++)
            {
                var sender = k;
                me.Deploy<Probe>(others[k], Probe.Register(s =>
                {
                    for (var n = 0; n < PerSender; n++) s.Send(s.Parent!.Value, new { tag = "d", k = sender, n });
                }));
            }
            var next = new int[2];
            var random = new Random(16);
            while (next[0] + next[1] < 2 * PerSender)
            {
                var k = next[0] == PerSender ? 1 : next[1] == PerSender ? 0 : random.Next(2);
                Packet p;
                if (random.Next(3) == 0)
                {
                    if (!me.TryRecv(new { tag = "d", k }, out p)) continue;
                }
                else p = me.Recv(new { tag = "d", k }, Bound);
                Assert.Equal(next[k]++, p.Get<int>("n"));
            }
        }).WaitAsync(Bound * 2);
    }

    [Fact]
    public async Task A_slow_VR_does_not_stall_a_fast_VR_fed_by_the_same_VM()
    {
        const int Count = 40_000;
        await using var cluster = new LocalCluster(2);
        var slowTaken = 0;
        var fastDone = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        await Probe.Run(cluster.Vms[0], me =>
        {
            var there = me.Discover()[1];
            var slow = me.Deploy<Probe>(there, Probe.Register(s =>
            {
                while (!stop.IsCancellationRequested)
                {
                    if (s.TryRecv((object?)null, out _)) Interlocked.Increment(ref slowTaken);
                    Thread.Sleep(1);
                }
            }));
            var fast = me.Deploy<Probe>(there, Probe.Register(f =>
            {
                for (var i = 0; i < Count; i++) f.Recv();
                fastDone.TrySetResult(Volatile.Read(ref slowTaken));
            }));
            // Two sender VRs on this VM share its link to the other: the slow one's feeder blocks, the fast one's must not.
            foreach (var dest in new[] { slow, fast }) me.Deploy<Probe>(me.Vm, Probe.Register(s => FloodSink.Flood(s, dest, Count)));
            var slowAtFastEnd = fastDone.Task.WaitAsync(Bound).GetAwaiter().GetResult();
            output.WriteLine($"the fast VR took {Count:N0} while the slow one took {slowAtFastEnd:N0}");
            Assert.True(slowAtFastEnd < Count / 4, $"the slow VR took {slowAtFastEnd} of {Count} before the fast one finished");
            stop.Cancel();
            cluster.Vms[1].Kill(slow); // its senders are released: the feeder ends
        }).WaitAsync(Bound);
    }

    [Fact]
    public async Task Two_VRs_flooding_each_other_on_one_VM_both_get_QueueFullException_naming_the_other()
    {
        await using var vm = new RiverVm(new RiverVmOptions { QueueLimit = new QueueLimit(1 << 20, 100), SendTimeout = TimeSpan.FromSeconds(1) });
        await AssertCycleBreaks(vm, vm);
    }

    [Fact]
    public async Task Two_VRs_on_two_VMs_flooding_each_other_both_get_QueueFullException_naming_the_other()
    {
        await using var cluster = new LocalCluster(2, o => (o.QueueLimit, o.SendTimeout) = (new QueueLimit(1 << 20, 100), TimeSpan.FromSeconds(1)));
        await AssertCycleBreaks(cluster.Vms[0], cluster.Vms[1]);
    }

    private async Task AssertCycleBreaks(RiverVm a, RiverVm b)
    {
        var watch = Stopwatch.StartNew();
        var errors = new Exception?[2];
        using var ended = new CountdownEvent(2);
        await Probe.Run(a, me =>
        {
            var other = me.Deploy<Probe>(me.Discover().Single(v => v.Id == b.Id), Probe.Register(o =>
            {
                var to = o.Recv(new { tag = "peer" }).Get<VrId>("vr");
                errors[1] = Record.Exception(() => FloodSink.Flood(o, to, int.MaxValue));
                GiveUp(ended);
            }));
            me.Deploy<Probe>(me.Vm, Probe.Register(o =>
            {
                o.Send(other, new { tag = "peer", vr = o.Id });
                errors[0] = Record.Exception(() => FloodSink.Flood(o, other, int.MaxValue));
                GiveUp(ended);
            }));
            Assert.True(ended.Wait(Bound), "a cycle of full queues hung");
        }).WaitAsync(Bound);
        output.WriteLine($"both gave up after {watch.Elapsed.TotalSeconds:0.0} s: {errors[0]?.Message}");
        Assert.All(errors, e => Assert.IsType<QueueFullException>(e));
        Assert.Contains("has been full for 1 s", errors[0]!.Message);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"the cycle took {watch.Elapsed} to break");
    }

    // A VR that ends releases its senders (they would flood a VR that never reads): each stays until both gave up.
    private static void GiveUp(CountdownEvent ended)
    {
        ended.Signal();
        ended.Wait(Bound);
    }

    [Fact]
    public async Task A_VR_that_sends_to_itself_with_its_queue_full_fails_at_once()
    {
        await using var vm = new RiverVm(new RiverVmOptions { QueueLimit = new QueueLimit(1 << 20, 10) });
        await Probe.Run(vm, me =>
        {
            for (var i = 0; i < 10; i++) me.Send(me.Id, new { n = i });
            var e = Assert.Throws<QueueFullException>(() => me.Send(me.Id, new { n = 10 }));
            Assert.Equal(me.Id, e.Destination);
        }).WaitAsync(Bound);
    }

    [Fact]
    public async Task SendAsync_awaits_room_in_a_full_queue_and_then_completes()
    {
        await using var vm = new RiverVm(new RiverVmOptions { QueueLimit = new QueueLimit(1 << 20, 10) });
        var read = new TaskCompletionSource();
        var sink = vm.Start<Probe>(null, Probe.Register(s =>
        {
            read.Task.Wait(Bound);
            for (var i = 0; i < 11; i++) Assert.Equal(i, s.Recv().Get<int>("n"));
        }));
        await AsyncProbe.Run(vm, async (me, stop) =>
        {
            for (var i = 0; i < 10; i++) await me.SendAsync(sink, new { n = i }, stop);
            var eleventh = me.SendAsync(sink, new { n = 10 }, stop).AsTask();
            await Task.Delay(200, stop);
            Assert.False(eleventh.IsCompleted, "SendAsync to a full queue completed before the receiver took anything");
            read.SetResult();
            await eleventh.WaitAsync(Bound, stop);
        }).WaitAsync(Bound);
    }

    [Fact]
    public async Task Senders_waiting_for_a_VR_are_released_when_its_VM_leaves()
    {
        await using var cluster = new LocalCluster(2);
        var sent = 0;
        VmGoneException? gone = null;
        var run = Probe.Run(cluster.Vms[0], me =>
        {
            var sink = me.Deploy<Probe>(me.Discover()[1], Probe.Register(s => s.Recv(new { tag = "never" })));
            var data = new byte[1024];
            try
            {
                for (var n = 0; n < 20_000; n++)
                {
                    me.Send(sink, new { tag = "d", n, data });
                    Volatile.Write(ref sent, n + 1);
                }
            }
            catch (VmGoneException e)
            {
                gone = e; // released, and told: sends to a VR whose VM is gone throw
            }
        });
        // Within a window (8 MiB or 8,192 packets) the sender must come to a stop, and stay there; it starts
        // sending only once the sink is deployed, which takes a while on a loaded machine.
        var started = DateTime.UtcNow;
        while (Volatile.Read(ref sent) == 0 && DateTime.UtcNow - started < TimeSpan.FromSeconds(20)) await Task.Delay(20);
        int before;
        do
        {
            before = Volatile.Read(ref sent);
            await Task.Delay(300);
        }
        while (Volatile.Read(ref sent) != before);
        output.WriteLine($"the sender stopped after {before:N0} packets");
        Assert.InRange(before, 1000, (int)FlowControl.WindowPackets);
        await cluster.Vms[1].DisposeAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(gone);
        Assert.Equal(cluster.Vms[1].Id, gone.Vm);
    }
}

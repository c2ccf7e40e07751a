using System.Collections.Concurrent;

namespace River.Tests.Resources;

public sealed class NoDefaultConstructor(int x) : VirtualResource
{
    public int X { get; } = x;

    protected override void Main() { }
}

public sealed class Thrower : VirtualResource
{
    protected override void Main() => throw new InvalidOperationException("boom from a VR");
}

public class VirtualResourceTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Packets_from_one_sender_arrive_in_the_order_sent_across_VMs()
    {
        await using var cluster = new LocalCluster(2);
        var got = new List<int>();
        await Probe.Run(cluster.Vms[0], me =>
        {
            var child = me.Deploy<Probe>(me.Discover()[1], Probe.Register(c =>
            {
                for (var i = 0; i < 1000; i++) c.Send(c.Parent!.Value, new { tag = "n", i });
            }));
            for (var i = 0; i < 1000; i++) got.Add(me.Recv(new { tag = "n", src = child }).Get<int>("i"));
        }).WaitAsync(Bound);
        Assert.Equal(Enumerable.Range(0, 1000), got);
    }

    [Fact]
    public async Task Recv_times_out_with_TimeoutException_and_the_VR_goes_on()
    {
        await using var vm = new RiverVm();
        Exception? error = null;
        var after = 0;
        await Probe.Run(vm, me =>
        {
            error = Record.Exception(() => me.Recv(new { tag = "never" }, TimeSpan.FromMilliseconds(50)));
            me.Send(me.Id, new { tag = "self", n = 7 });
            after = me.Recv(new { tag = "self" }, TimeSpan.FromSeconds(5)).Get<int>("n");
        }).WaitAsync(Bound);
        Assert.IsType<TimeoutException>(error);
        Assert.Equal(7, after);
    }

    [Fact]
    public async Task TryRecv_and_Peek_do_not_wait()
    {
        await using var vm = new RiverVm();
        bool before = true, after = false;
        Packet? peeked = null;
        await Probe.Run(vm, me =>
        {
            before = me.TryRecv(new { tag = "x" }, out _);
            me.Send(me.Id, new { tag = "x" });
            peeked = me.Peek(new { tag = "x" });
            after = me.TryRecv(new { tag = "x" }, out _);
        }).WaitAsync(Bound);
        Assert.False(before);
        Assert.NotNull(peeked);
        Assert.True(after);
    }

    [Fact]
    public async Task A_receiver_never_sees_changes_the_sender_makes_after_Send()
    {
        await using var cluster = new LocalCluster(1);
        int[]? received = null;
        await Probe.Run(cluster.Vms[0], me =>
        {
            var data = new[] { 1, 2, 3 };
            me.Send(me.Id, new { tag = "d", data });
            data[0] = 99;
            received = me.Recv(new { tag = "d" }).Get<int[]>("data");
        }).WaitAsync(Bound);
        Assert.Equal([1, 2, 3], received!);
    }

    [Fact]
    public async Task Values_arrive_as_the_type_they_were_sent_as_across_VMs()
    {
        await using var cluster = new LocalCluster(2);
        Packet? p = null;
        object?[]? args = null;
        await Probe.Run(cluster.Vms[0], me =>
        {
            me.Deploy<Probe>(me.Discover()[1], Probe.Register(c =>
            {
                args = c.DeployArgs;
                c.Send(c.Parent!.Value, new { i = 1, b = (byte)2, l = 3L, s = (string?)null, d = 1.5m });
            }), 42, (short)7);
            p = me.Recv();
        }).WaitAsync(Bound);
        Assert.IsType<int>(p!["i"]);
        Assert.IsType<byte>(p["b"]);
        Assert.IsType<long>(p["l"]);
        Assert.Null(p["s"]);
        Assert.Equal(1.5m, p["d"]);
        Assert.IsType<int>(args![1]);
        Assert.IsType<short>(args[2]);
    }

    [Fact]
    public async Task An_unsupported_value_fails_at_Send_naming_the_attribute()
    {
        await using var cluster = new LocalCluster(2);
        UnsupportedValueException? local = null, remote = null;
        await Probe.Run(cluster.Vms[0], me =>
        {
            var other = me.Deploy<Probe>(me.Discover()[1], Probe.Register(c => c.Recv(timeout: TimeSpan.FromSeconds(10))));
            local = Assert.Throws<UnsupportedValueException>(() => me.Send(me.Id, new { handle = new FileInfo("/tmp") }));
            remote = Assert.Throws<UnsupportedValueException>(() => me.Send(other, new { fn = (Func<int>)(() => 1) }));
            me.Send(other, new { done = true });
        }).WaitAsync(Bound);
        Assert.Equal("handle", local!.Attribute);
        Assert.Equal("fn", remote!.Attribute);
    }

    [Fact]
    public async Task Send_to_an_unknown_id_is_counted_undeliverable_not_thrown()
    {
        await using var cluster = new LocalCluster(3);
        Exception? error = new();
        await Probe.Run(cluster.Vms[0], me => error = Record.Exception(() => me.Send(VrId.New(), new { tag = "lost" }))).WaitAsync(Bound);
        Assert.Null(error);
        await Condition.Until(() => cluster.Vms[0].Undeliverable == 1, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_failing_VR_is_reported_with_its_id_and_the_others_keep_running()
    {
        await using var cluster = new LocalCluster(2);
        var ended = new ConcurrentBag<VrLifecycleEventArgs>();
        cluster.Vms[1].VrEnded += (_, e) => ended.Add(e);
        var answer = 0;
        await Probe.Run(cluster.Vms[0], me =>
        {
            var vm = me.Discover()[1];
            var bad = me.Deploy<Thrower>(vm);
            var good = me.Deploy<Probe>(vm, Probe.Register(c => c.Send(c.Parent!.Value, new { n = c.Recv().Get<int>("n") + 1 })));
            me.Send(good, new { n = 41 });
            answer = me.Recv(timeout: TimeSpan.FromSeconds(10)).Get<int>("n");
            Assert.Contains(ended, e => e.Id == bad);
        }).WaitAsync(Bound);
        Assert.Equal(42, answer);
        var failure = Assert.Single(ended, e => e.Error is not null);
        Assert.Equal(typeof(Thrower), failure.Type);
        Assert.Equal("boom from a VR", failure.Error!.Message);
    }

    [Fact]
    public async Task Deploy_of_a_type_without_a_parameterless_constructor_is_refused_clearly()
    {
        await using var vm = new RiverVm();
        ArgumentException? error = null;
        await Probe.Run(vm, me => error = Assert.Throws<ArgumentException>(() => me.Deploy<NoDefaultConstructor>(me.Vm))).WaitAsync(Bound);
        Assert.Contains("parameterless constructor", error!.Message);
        Assert.Contains(nameof(NoDefaultConstructor), error.Message);
    }

    [Fact]
    public async Task A_VRs_queue_is_released_when_it_ends()
    {
        await using var vm = new RiverVm();
        var child = default(VrId);
        await Probe.Run(vm, me =>
        {
            child = me.Deploy<Probe>(me.Vm, Probe.Register(_ => { }));
        }).WaitAsync(Bound);
        await Condition.Until(() => vm.VrCount == 0, TimeSpan.FromSeconds(10));
        var before = vm.Undeliverable;
        await Probe.Run(vm, me => me.Send(child, new { late = true })).WaitAsync(Bound);
        Assert.Equal(before + 1, vm.Undeliverable);
    }

    [Fact]
    public async Task Discover_filters_on_attributes_set_by_VRs()
    {
        await using var cluster = new LocalCluster(3);
        await Probe.Run(cluster.Vms[2], me => me.SetVmAttribute("status", "ready")).WaitAsync(Bound);
        IReadOnlyList<VmInfo> ready = [];
        await Probe.Run(cluster.Vms[0], me =>
        {
            ready = me.Discover(new { status = "ready" }, TimeSpan.FromSeconds(10));
            Assert.Equal(3, me.Discover().Count);
            Assert.All(me.Discover(), v => Assert.True(v.Attributes.ContainsKey(VmInfo.Cores)));
        }).WaitAsync(Bound);
        Assert.Equal(cluster.Vms[2].Id, Assert.Single(ready).Id);
    }

    [Fact]
    public async Task Built_in_VM_attributes_cannot_be_set()
    {
        await using var vm = new RiverVm();
        await Probe.Run(vm, me => Assert.Throws<ArgumentException>(() => me.SetVmAttribute(VmInfo.Cores, 1000))).WaitAsync(Bound);
    }

    [Fact]
    public async Task One_VM_hosts_1000_thread_VRs()
    {
        await using var vm = new RiverVm();
        var sum = 0;
        await Probe.Run(vm, me =>
        {
            var ids = me.Deploy<Probe>(Enumerable.Repeat(me.Vm, 1000), Probe.Register(c =>
                c.Send(c.Parent!.Value, new { one = c.Recv().Get<int>("one") })));
            foreach (var id in ids) me.Send(id, new { one = 1 });
            for (var i = 0; i < ids.Count; i++) sum += me.Recv().Get<int>("one");
        }).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(1000, sum);
    }

    [Fact]
    public async Task RecvAsync_times_out_and_can_be_cancelled()
    {
        await using var vm = new RiverVm();
        Exception? timedOut = null, cancelled = null;
        await AsyncProbe.Run(vm, async (me, _) =>
        {
            timedOut = await Record.ExceptionAsync(async () => await me.RecvAsync(new { tag = "never" }, TimeSpan.FromMilliseconds(50)));
            using var cts = new CancellationTokenSource(50);
            cancelled = await Record.ExceptionAsync(async () => await me.RecvAsync(new { tag = "never" }, cancel: cts.Token));
        }).WaitAsync(Bound);
        Assert.IsType<TimeoutException>(timedOut);
        Assert.IsAssignableFrom<OperationCanceledException>(cancelled);
    }

    [Fact]
    public async Task Stopping_a_VM_wakes_a_VR_blocked_in_Recv()
    {
        var vm = new RiverVm();
        var ended = new TaskCompletionSource<Exception?>();
        vm.VrEnded += (_, e) => ended.TrySetResult(e.Error);
        vm.Start<Probe>(null, Probe.Register(me => me.Recv()));
        await vm.DisposeAsync();
        Assert.IsAssignableFrom<OperationCanceledException>(await ended.Task.WaitAsync(Bound));
    }
}

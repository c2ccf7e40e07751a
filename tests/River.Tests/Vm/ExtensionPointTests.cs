using System.Collections.Concurrent;

namespace River.Tests.Vm;

/// <summary>The hooks later layers (logging, checkpointing, mirroring, failure detection) build on.</summary>
public class ExtensionPointTests
{
    private sealed class Recorder : IPacketObserver
    {
        public ConcurrentQueue<(string Where, Packet Packet)> Seen { get; } = new();

        public void Sent(Packet packet) => Seen.Enqueue(("sent", packet));

        public void Delivered(Packet packet) => Seen.Enqueue(("delivered", packet));
    }

    [Fact]
    public async Task Observers_see_each_packet_once_when_sent_and_once_when_delivered_across_VMs()
    {
        await using var cluster = new LocalCluster(2);
        var (first, second) = (new Recorder(), new Recorder());
        cluster.Vms[0].AddPacketObserver(first);
        cluster.Vms[1].AddPacketObserver(second);
        await Probe.Run(cluster.Vms[0], me =>
        {
            var echo = me.Deploy<Probe>(me.Discover()[1], Probe.Register(c => c.Send(c.Parent!.Value, new { tag = "back", n = c.Recv().Get<int>("n") })));
            me.Send(echo, new { tag = "out", n = 7 });
            me.Recv(new { tag = "back" }, TimeSpan.FromSeconds(10));
        }).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(["sent out", "delivered back"], first.Seen.Select(s => $"{s.Where} {s.Packet.Get<string>("tag")}"));
        Assert.Equal(["delivered out", "sent back"], second.Seen.Select(s => $"{s.Where} {s.Packet.Get<string>("tag")}"));
    }

    [Fact]
    public async Task Lifecycle_events_name_each_VR_its_parent_and_how_it_ended()
    {
        await using var vm = new RiverVm();
        var started = new ConcurrentQueue<VrLifecycleEventArgs>();
        var ended = new ConcurrentQueue<VrLifecycleEventArgs>();
        vm.VrStarted += (_, e) => started.Enqueue(e);
        vm.VrEnded += (_, e) => ended.Enqueue(e);
        var child = default(VrId);
        await Probe.Run(vm, me =>
        {
            child = me.Deploy<Probe>(me.Vm, Probe.Register(_ => throw new InvalidOperationException("child failed")));
        }).WaitAsync(TimeSpan.FromSeconds(20));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (ended.Count < 2 && DateTime.UtcNow < deadline) await Task.Delay(10);
        Assert.Equal(2, started.Count);
        var childStart = Assert.Single(started, e => e.Id == child);
        Assert.NotNull(childStart.Parent);
        var childEnd = Assert.Single(ended, e => e.Id == child);
        Assert.Equal("child failed", childEnd.Error?.Message);
        Assert.Null(Assert.Single(ended, e => e.Id != child).Error);
    }
}

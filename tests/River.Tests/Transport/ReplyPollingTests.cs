using System.Collections.Concurrent;
using System.Diagnostics;

namespace River.Tests.Transport;

/// <summary>A thread VR waiting for an answer reads it from the socket itself; the reader thread still serves everyone else.</summary>
public class ReplyPollingTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private sealed class DeliveringThreads : IPacketObserver
    {
        public ConcurrentQueue<int> Threads { get; } = new();

        public void Sent(Packet packet)
        {
        }

        public void Delivered(Packet packet)
        {
            if (packet.TryGet<string>("tag", out var tag) && tag == "pong") Threads.Enqueue(Environment.CurrentManagedThreadId);
        }
    }

    [Fact]
    public async Task Replies_are_handed_out_on_the_waiting_VRs_own_thread()
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        await using var a = await RiverVm.JoinAsync(TcpClusterTests.Options(name));
        await using var b = await RiverVm.JoinAsync(TcpClusterTests.Options(name, a));
        var observer = new DeliveringThreads();
        a.AddPacketObserver(observer);
        var vrThread = 0;
        // On a loaded machine a round trip can outlast the usual 50 µs poll every time; poll long enough to see one.
        var spin = VirtualResource.SpinTime;
        VirtualResource.SpinTime = TimeSpan.FromMilliseconds(2);
        try
        {
            await Probe.Run(a, me =>
            {
                vrThread = Environment.CurrentManagedThreadId;
                var echo = me.Deploy<Probe>(me.Discover(wait: Bound).Single(v => v.Id == b.Id), Probe.Register(e =>
                {
                    while (e.Recv() is { } p && p.Get<int>("n") >= 0) e.Send(p.Src, new { tag = "pong", n = p.Get<int>("n") });
                }));
                for (var i = 0; i < 500; i++)
                {
                    me.Send(echo, new { tag = "ping", n = i });
                    Assert.Equal(i, me.Recv(new { tag = "pong" }, Bound).Get<int>("n"));
                }
                me.Send(echo, new { tag = "ping", n = -1 });
            }).WaitAsync(Bound);
        }
        finally
        {
            VirtualResource.SpinTime = spin;
        }
        Assert.Equal(500, observer.Threads.Count);
        // The reader thread hands out some (the VR may have parked first); the VR's own thread reads the rest.
        Assert.Contains(vrThread, observer.Threads);
    }

    [Fact]
    public async Task Packets_for_other_VRs_still_arrive_while_the_polling_VR_computes()
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        await using var a = await RiverVm.JoinAsync(TcpClusterTests.Options(name));
        await using var b = await RiverVm.JoinAsync(TcpClusterTests.Options(name, a));
        var latencies = new ConcurrentQueue<double>();
        await Probe.Run(a, me =>
        {
            var there = me.Discover(wait: Bound).Single(v => v.Id == b.Id);
            var listener = me.Deploy<Probe>(me.Vm, Probe.Register(l =>
            {
                for (var i = 0; i < 20; i++)
                    latencies.Enqueue(Stopwatch.GetElapsedTime(l.Recv(new { tag = "tick" }, Bound).Get<long>("at")).TotalMilliseconds);
                l.Send(l.Parent!.Value, new { tag = "heard" });
            }));
            var echo = me.Deploy<Probe>(there, Probe.Register(e =>
            {
                for (var i = 0; i < 200; i++) e.Send(e.Recv(new { tag = "ping" }).Src, new { tag = "pong" });
                var to = e.Recv(new { tag = "start" }).Get<VrId>("listener");
                for (var i = 0; i < 20; i++)
                {
                    Thread.Sleep(10);
                    e.Send(to, new { tag = "tick", at = Stopwatch.GetTimestamp() });
                }
            }));
            // This VR's thread polls the connection for its answers, then computes for a while without receiving.
            for (var i = 0; i < 200; i++)
            {
                me.Send(echo, new { tag = "ping" });
                me.Recv(new { tag = "pong" }, Bound);
            }
            me.Send(echo, new { tag = "start", listener });
            var until = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 2;
            while (Stopwatch.GetTimestamp() < until) Thread.SpinWait(100);
            me.Recv(new { tag = "heard" }, Bound);
        }).WaitAsync(Bound);
        Assert.Equal(20, latencies.Count);
        // The reader takes the socket back within about a millisecond; the ticks would otherwise wait the whole computation.
        Assert.True(latencies.Order().ElementAt(10) < 100, $"tick latencies (ms): {string.Join(", ", latencies.Select(l => l.ToString("F1")))}");
    }
}

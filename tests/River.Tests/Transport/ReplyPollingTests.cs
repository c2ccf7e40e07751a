using System.Diagnostics;
using River.Tests.Cluster;

namespace River.Tests.Transport;

/// <summary>
/// A thread VR waiting for an answer reads it from the socket itself; the reader thread still serves everyone else.
/// Runs alone: it sets the process-wide spin time.
/// </summary>
[Collection(ProcessCollection.Name)]
public class ReplyPollingTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>Counts the answers handed out, and those handed out on one thread.</summary>
    private sealed class DeliveringThreads : IPacketObserver
    {
        public int Thread;
        public int All, OnThread;

        public void Sent(Packet packet)
        {
        }

        public void Delivered(Packet packet)
        {
            if (!packet.TryGet<string>("tag", out var tag) || tag != "pong") return;
            Interlocked.Increment(ref All);
            if (Environment.CurrentManagedThreadId == Volatile.Read(ref Thread)) Interlocked.Increment(ref OnThread);
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
        var trips = 0;
        // On a loaded machine every round trip can outlast the usual 50 µs poll; poll for as long as one may take.
        var spin = VirtualResource.SpinTime;
        VirtualResource.SpinTime = TimeSpan.FromSeconds(1);
        try
        {
            await Probe.Run(a, me =>
            {
                observer.Thread = Environment.CurrentManagedThreadId;
                var echo = me.Deploy<Probe>(me.Discover(wait: Bound).Single(v => v.Id == b.Id), Probe.Register(e =>
                {
                    while (e.Recv() is { } p && p.Get<int>("n") >= 0) e.Send(p.Src, new { tag = "pong", n = p.Get<int>("n") });
                }));
                // The reader thread hands out some answers (while this thread is off the CPU, a loaded machine's scheduler
                // favours the reader that just woke), this thread reads the others itself: go on until it has read some.
                var until = Environment.TickCount64 + 20_000;
                for (; (trips < 500 || Volatile.Read(ref observer.OnThread) < 10) && Environment.TickCount64 < until; trips++)
                {
                    me.Send(echo, new { tag = "ping", n = trips });
                    Assert.Equal(trips, me.Recv(new { tag = "pong" }, Bound).Get<int>("n"));
                }
                me.Send(echo, new { tag = "ping", n = -1 });
            }).WaitAsync(2 * Bound);
        }
        finally
        {
            VirtualResource.SpinTime = spin;
        }
        Assert.Equal(trips, observer.All);
        Assert.True(observer.OnThread >= 10, $"{observer.OnThread} of {trips} answers were read by the waiting VR's own thread");
    }

    [Fact]
    public async Task Packets_for_other_VRs_still_arrive_while_the_polling_VR_computes()
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        await using var a = await RiverVm.JoinAsync(TcpClusterTests.Options(name));
        await using var b = await RiverVm.JoinAsync(TcpClusterTests.Options(name, a));
        var heard = new ManualResetEventSlim(false);
        var heardWhileComputing = false;
        await Probe.Run(a, me =>
        {
            var there = me.Discover(wait: Bound).Single(v => v.Id == b.Id);
            var listener = me.Deploy<Probe>(me.Vm, Probe.Register(l =>
            {
                for (var i = 0; i < 20; i++) l.Recv(new { tag = "tick" }, Bound);
                heard.Set();
            }));
            var echo = me.Deploy<Probe>(there, Probe.Register(e =>
            {
                for (var i = 0; i < 200; i++) e.Send(e.Recv(new { tag = "ping" }).Src, new { tag = "pong" });
                var to = e.Recv(new { tag = "start" }).Get<VrId>("listener");
                for (var i = 0; i < 20; i++) e.Send(to, new { tag = "tick" });
            }));
            // This VR's thread polls the connection for its answers, then computes without receiving until the listener
            // has its ticks: they come only if the reader thread takes the socket back from it.
            for (var i = 0; i < 200; i++)
            {
                me.Send(echo, new { tag = "ping" });
                me.Recv(new { tag = "pong" }, Bound);
            }
            me.Send(echo, new { tag = "start", listener });
            var until = Stopwatch.GetTimestamp() + (long)(Bound.TotalSeconds * Stopwatch.Frequency);
            while (!heard.IsSet && Stopwatch.GetTimestamp() < until) Thread.SpinWait(100);
            heardWhileComputing = heard.IsSet;
        }).WaitAsync(2 * Bound);
        Assert.True(heardWhileComputing, "the ticks for another VR waited until the polling VR stopped computing");
    }
}

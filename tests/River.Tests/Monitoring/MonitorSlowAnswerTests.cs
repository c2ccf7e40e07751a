namespace River.Tests.Monitoring;

/// <summary>A monitor whose VM is live but slow to answer (a loaded machine) waits for the answer: <c>lost</c> is the failure detector's word only.</summary>
public sealed class MonitorSlowAnswerTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>Holds the thread that delivers the first "stall" packet on its VM: what follows it on the link waits.</summary>
    private sealed class Stall(TimeSpan hold) : IPacketObserver
    {
        private int _held;

        public void Sent(Packet packet)
        {
        }

        public void Delivered(Packet packet)
        {
            if (packet.TryGet<string>("tag", out var tag) && tag == "stall" && Interlocked.Exchange(ref _held, 1) == 0) Thread.Sleep(hold);
        }
    }

    [Fact]
    public async Task A_monitor_whose_VM_answers_after_3_s_reports_the_real_end_not_lost()
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        await using var a = await RiverVm.JoinAsync(Transport.TcpClusterTests.Options(name));
        await using var b = await RiverVm.JoinAsync(Transport.TcpClusterTests.Options(name, a));
        b.AddPacketObserver(new Stall(TimeSpan.FromSeconds(4.5)));
        await Probe.Run(a, me =>
        {
            var there = me.Discover(wait: Bound).Single(v => v.Id == b.Id);
            var target = me.Deploy<Probe>(there, Probe.Register(t => t.Recv(new { tag = "stop" })));
            me.Send(target, new { tag = "stall" }); // VM b reads nothing more from this link for 4.5 s, its heartbeats still come
            me.Monitor(target); // asked of VM b, which answers only after the stall: past the 3 s a question may take
            me.Send(target, new { tag = "stop" });
            var down = me.Recv(new { tag = "river.down", src = target }, Bound);
            Assert.Equal("normal", down.Get<string>("reason"));
        }).WaitAsync(Bound);
    }
}

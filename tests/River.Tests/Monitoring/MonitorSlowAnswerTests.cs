namespace River.Tests.Monitoring;

/// <summary>A monitor whose VM is live but slow to answer (a loaded machine) waits for the answer: <c>lost</c> is the failure detector's word only.</summary>
public sealed class MonitorSlowAnswerTests
{
    [Fact]
    public Task A_monitor_whose_VM_answers_after_3_s_reports_the_real_end_not_lost() => Transport.RemotePair.RunAsync((me, there, b) =>
    {
        var target = me.Deploy<Probe>(there, Probe.Register(t => t.Recv(new { tag = "stop" })));
        // VM b reads nothing more from this link while it holds "stall"; its heartbeats still come.
        var stall = HoldPacket.On(b, p => p.TryGet<string>("tag", out var tag) && tag == "stall", () => me.Send(target, new { tag = "stall" }));
        me.Monitor(target); // asked of VM b, which answers only after the stall: past the 3 s a question may take
        me.Send(target, new { tag = "stop" });
        Thread.Sleep(TimeSpan.FromSeconds(4.5));
        stall.Release.Set();
        var down = me.Recv(new { tag = "river.down", src = target }, Transport.RemotePair.Bound);
        Assert.Equal("normal", down.Get<string>("reason"));
    });
}

using System.Diagnostics;
using River.Tests.Cluster;

namespace River.Tests.Diagnostics;

/// <summary>The trace context crosses process boundaries: from this test's VM to a VR on a <c>river vm</c> process, and back.</summary>
[Collection(ProcessCollection.Name)]
public sealed class PacketTracingProcessTests(Xunit.Abstractions.ITestOutputHelper output) : ProcessTest(output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_user_trace_reaches_a_VR_on_a_river_vm_process_and_comes_back_with_its_reply()
    {
        using var spans = new SpanRecorder();
        _vms.Add(await VmProcess.StartAsync(_cluster));
        var options = _cluster.Options();
        options.Seeds.Add(_vms[0].Address);
        await using var local = await RiverVm.JoinAsync(options);
        Activity? request = null;
        VrId me = default, echo = default;
        Packet? pong = null;
        await Probe.Run(local, vr =>
        {
            SpanRecorder.Mark();
            me = vr.Id;
            echo = vr.Deploy<TraceEcho>(vr.Discover(new { role = "vm" }, Bound).Single());
            using (request = SpanRecorder.User.StartActivity("request"))
                vr.Send(echo, new { tag = "ping" });
            pong = vr.Recv(new { tag = "pong" }, Bound);
        }).WaitAsync(Bound);

        // There: the packet carried River's send span (a child of the request), not as an attribute; a span made from it is in the request's trace.
        var send = spans.Of("river.send", echo);
        Assert.Equal(request!.SpanId, send.ParentSpanId);
        Assert.Equal(send.Id, pong!.Get<string>("carried"));
        Assert.Equal("src,dest,tag", pong.Get<string>("keys"));
        Assert.Equal(request.TraceId.ToString(), pong.Get<string>("trace"));
        // Back: the reply, sent in that span on a VM with no listener, carries it; the receive span here is its child.
        var receive = spans.Of("river.receive", me);
        Assert.Equal(request.TraceId, receive.TraceId);
        Assert.Equal(pong.Get<string>("span"), receive.ParentSpanId.ToString());
        Assert.Equal(pong.TraceContext.SpanId, receive.ParentSpanId);
    }

    [Fact]
    public async Task River_vm_refuses_a_trace_sample_ratio_outside_0_to_1()
    {
        var run = await RiverCli.RunAsync(["vm", "--port", "0", "--no-multicast", "--trace-sample", "1.5", .. _cluster.Args]);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("trace sample ratio", run.Stderr, StringComparison.Ordinal);
    }
}

/// <summary>Says what trace context its packet carried; shipped to a <c>river vm</c> process, which listens to no spans.</summary>
public sealed class TraceEcho : VirtualResource
{
    protected override void Main()
    {
        var p = Recv(new { tag = "ping" });
        // No listener there: a bare Activity continues the trace the packet carried, and the reply, sent in it, carries it on.
        using var work = p.TraceParent is { } parent ? new Activity("echo").SetParentId(parent).Start() : null;
        Send(p.Src, new
        {
            tag = "pong",
            carried = p.TraceParent ?? "",
            keys = string.Join(',', p.Keys),
            trace = Activity.Current?.TraceId.ToString() ?? "",
            span = Activity.Current?.SpanId.ToString() ?? "",
        });
    }
}

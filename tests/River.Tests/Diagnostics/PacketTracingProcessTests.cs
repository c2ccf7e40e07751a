using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
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

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.0)]
    public async Task River_vm_exports_over_OTLP_the_share_of_packet_traces_its_trace_sample_keeps(double ratio)
    {
        using var collector = new OtlpCollector();
        Dictionary<string, string> environment = new()
        {
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf", // the collector here speaks HTTP/1.1, not gRPC
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
        };
        var vm = await VmProcess.StartAsync(
            ["vm", "--port", "0", "--no-multicast", "--attr", "role=vm", .. _cluster.Args,
             "--otlp-endpoint", collector.Url, "--trace-sample", ratio.ToString(CultureInfo.InvariantCulture)],
            environment: environment);
        _vms.Add(vm);
        var options = _cluster.Options();
        options.Seeds.Add(vm.Address);
        await using (var local = await RiverVm.JoinAsync(options))
        {
            await Probe.Run(local, vr =>
            {
                var echo = vr.Deploy<Dashboard.DashboardTests.Echo>(vr.Discover(new { role = "vm" }, Bound).Single());
                for (var i = 0; i < 20; i++)
                {
                    vr.Send(echo, new { tag = "tick" });
                    vr.Recv(new { tag = "tock" }, Bound);
                }
            }).WaitAsync(Bound);
        }
        Assert.Equal(0, await vm.TerminateAsync(Bound)); // the exporters flush as the VM stops

        // OTLP/protobuf keeps strings as UTF-8: a span's name and its river.vm tag show in the bytes. The echo's replies are
        // sent outside any span (roots), so the VM's ratio alone decides whether their river.send spans are kept.
        var bodies = collector.Bodies.Select(Encoding.UTF8.GetString).ToList();
        Assert.True(bodies.Count > 0, "the VM exported nothing (not even metrics)");
        var sends = bodies.Where(b => b.Contains("river.send", StringComparison.Ordinal)).ToList();
        if (ratio == 1)
            Assert.Contains(sends, b => b.Contains(vm.Id, StringComparison.Ordinal));
        else
            Assert.Empty(sends);
    }

    [Fact]
    public async Task River_vm_refuses_an_otlp_endpoint_that_is_not_an_http_URL()
    {
        var run = await RiverCli.RunAsync(["vm", "--port", "0", "--no-multicast", "--otlp-endpoint", "collector:4317", .. _cluster.Args]);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("--otlp-endpoint takes an http:// or https:// URL, not 'collector:4317'.", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task River_vm_refuses_a_trace_sample_ratio_outside_0_to_1()
    {
        var run = await RiverCli.RunAsync(["vm", "--port", "0", "--no-multicast", "--trace-sample", "1.5", .. _cluster.Args]);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("trace sample ratio", run.Stderr, StringComparison.Ordinal);
    }
}

/// <summary>An OTLP/HTTP endpoint on loopback that keeps the body of every export it is sent and answers 200 (an empty response message).</summary>
internal sealed class OtlpCollector : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<byte[]> _bodies = new();
    private readonly Task _serving;

    public OtlpCollector()
    {
        Url = $"http://127.0.0.1:{Loopback.FreePort()}/";
        _listener.Prefixes.Add(Url);
        _listener.Start();
        _serving = Task.Run(ServeAsync);
    }

    public string Url { get; }

    public IReadOnlyCollection<byte[]> Bodies => _bodies;

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return; // stopped
            }
            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            _bodies.Enqueue(body.ToArray());
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/x-protobuf";
            context.Response.Close();
        }
    }

    public void Dispose()
    {
        _listener.Close();
        _serving.Wait(TimeSpan.FromSeconds(10));
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

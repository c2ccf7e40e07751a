using System.Buffers;
using System.Diagnostics;
using System.Text;
using MessagePack;

namespace River.Tests.Diagnostics;

/// <summary>
/// Spans for sampled packets and the trace context packets carry, in an embedded cluster of two VMs (a packet between them
/// is serialized and read back, as between processes). One class: its tests add and remove a listener, so they run one at a time.
/// </summary>
public sealed class PacketTracingTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private const string Parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    private static VmInfo Other(VirtualResourceBase me) => me.Discover().First(v => v.Id != me.Vm.Id);

    [Fact]
    public async Task A_sampled_send_and_its_receive_on_another_VM_are_one_trace_and_the_receiver_never_sees_the_attribute()
    {
        using var spans = new SpanRecorder();
        await using var cluster = new LocalCluster(2);
        VrId b = default;
        Packet? received = null;
        await Probe.Run(cluster.Vms[0], me =>
        {
            SpanRecorder.Mark();
            b = me.Deploy<Probe>(Other(me), Probe.Register(c =>
            {
                SpanRecorder.Mark();
                received = c.Recv(new { tag = "job" });
                c.Send(c.Parent!.Value, new { tag = "done" });
            }));
            me.Send(b, new { tag = "job", n = 1 });
            me.Recv(new { tag = "done" }, Bound);
        }).WaitAsync(Bound);

        var send = spans.Of("river.send", b);
        var receive = spans.Of("river.receive", b);
        Assert.Equal(ActivityKind.Producer, send.Kind);
        Assert.Equal(ActivityKind.Consumer, receive.Kind);
        Assert.Equal(send.TraceId, receive.TraceId);
        Assert.Equal(send.SpanId, receive.ParentSpanId);
        Assert.Equal(true, send.GetTagItem("river.remote"));
        Assert.Equal(2, send.GetTagItem("river.attributes"));
        Assert.Equal(cluster.Vms[0].Id.ToString(), send.GetTagItem("river.vm"));

        // The receiver has the context as a property, never as an attribute.
        Assert.Equal(send.Id, received!.TraceParent);
        Assert.Equal(send.TraceId, received.TraceContext.TraceId);
        Assert.Equal(send.SpanId, received.TraceContext.SpanId);
        Assert.Equal(["src", "dest", "tag", "n"], received.Keys);
        Assert.False(received.ContainsKey(Packet.TraceAttribute));
    }

    [Fact]
    public async Task A_user_span_around_Send_is_the_parent_of_River_spans_and_continues_on_the_receiver_and_back()
    {
        using var spans = new SpanRecorder();
        await using var cluster = new LocalCluster(2);
        VrId a = default, b = default;
        Activity? request = null, work = null;
        await Probe.Run(cluster.Vms[0], me =>
        {
            SpanRecorder.Mark();
            a = me.Id;
            b = me.Deploy<Probe>(Other(me), Probe.Register(c =>
            {
                SpanRecorder.Mark();
                var job = c.Recv(new { tag = "job" });
                using (work = SpanRecorder.User.StartActivity("work", ActivityKind.Consumer, job.TraceContext))
                    c.Send(c.Parent!.Value, new { tag = "done" });
            }));
            using (request = SpanRecorder.User.StartActivity("request"))
                me.Send(b, new { tag = "job" });
            Assert.Null(Activity.Current); // River's spans leave the caller's current activity as they found it
            me.Recv(new { tag = "done" }, Bound);
        }).WaitAsync(Bound);

        Assert.NotNull(request);
        var send = spans.Of("river.send", b);
        Assert.Equal(request.TraceId, send.TraceId);
        Assert.Equal(request.SpanId, send.ParentSpanId);
        Assert.Equal(send.SpanId, spans.Of("river.receive", b).ParentSpanId);
        Assert.NotNull(work);
        Assert.Equal(request.TraceId, work.TraceId);
        Assert.Equal(send.SpanId, work.ParentSpanId);
        // The reply was sent in the receiver's span: the trace comes back.
        var reply = spans.Of("river.send", a);
        Assert.Equal(work.SpanId, reply.ParentSpanId);
        Assert.Equal(reply.SpanId, spans.Of("river.receive", a).ParentSpanId);
        Assert.Equal(request.TraceId, spans.Of("river.receive", a).TraceId);
    }

    [Fact]
    public async Task SendAsync_and_RecvAsync_and_a_send_on_the_same_VM_are_traced_too()
    {
        using var spans = new SpanRecorder();
        await using var cluster = new LocalCluster(1);
        VrId a = default, b = default;
        await AsyncProbe.Run(cluster.Vms[0], async (me, stop) =>
        {
            SpanRecorder.Mark();
            a = me.Id;
            b = me.Deploy<Probe>(me.Vm, Probe.Register(c =>
            {
                SpanRecorder.Mark();
                c.Recv(new { tag = "job" });
                c.Send(c.Parent!.Value, new { tag = "done" });
            }));
            await me.SendAsync(b, new { tag = "job" }, stop);
            await me.RecvAsync(new { tag = "done" }, Bound, stop);
        }).WaitAsync(Bound);

        foreach (var dest in new[] { a, b })
        {
            var send = spans.Of("river.send", dest);
            Assert.Equal(false, send.GetTagItem("river.remote"));
            Assert.Equal(send.SpanId, spans.Of("river.receive", dest).ParentSpanId);
        }
    }

    [Fact]
    public async Task Without_a_sampled_span_a_packet_carries_nothing_but_a_user_activity_still_travels()
    {
        // The listener samples nothing here (these VRs do not mark their flows), as a listener that declines would.
        using var spans = new SpanRecorder();
        await using var cluster = new LocalCluster(2);
        VrId b = default;
        Packet? plain = null, traced = null;
        Activity? request = null;
        ActivityTraceId workTrace = default;
        await Probe.Run(cluster.Vms[0], me =>
        {
            b = me.Deploy<Probe>(Other(me), Probe.Register(c =>
            {
                plain = c.Recv(new { tag = "plain" });
                traced = c.Recv(new { tag = "traced" });
                // No listener needed: a bare Activity continues the trace the packet carried.
                using (new Activity("work").SetParentId(traced.TraceParent!).Start())
                    workTrace = Activity.Current!.TraceId;
                c.Send(c.Parent!.Value, new { tag = "done" });
            }));
            me.Send(b, new { tag = "plain" });
            using (request = new Activity("request").Start())
                me.Send(b, new { tag = "traced" });
            me.Recv(new { tag = "done" }, Bound);
        }).WaitAsync(Bound);

        Assert.DoesNotContain(spans.Stopped, s => (string?)s.GetTagItem("river.dest") == b.ToString());
        Assert.Null(plain!.TraceParent);
        Assert.Equal(default, plain.TraceContext);
        Assert.Equal(request!.Id, traced!.TraceParent);
        Assert.Equal(request.TraceId, workTrace);
        Assert.Equal(["src", "dest", "tag"], traced.Keys);
    }

    [Fact]
    public async Task A_listener_that_throws_on_a_receive_span_loses_no_packet_and_leaves_the_current_activity_alone()
    {
        using var spans = new SpanRecorder();
        using var faulty = new ActivityListener
        {
            ShouldListenTo = s => s.Name == RiverMetrics.ActivitySourceName,
            ActivityStarted = a =>
            {
                if (a.OperationName == "river.receive" && SpanRecorder.IsMarked) throw new InvalidOperationException("a listener's bug");
            },
        };
        ActivitySource.AddActivityListener(faulty);
        await using var vm = new RiverVm();
        Packet? received = null;
        await Probe.Run(vm, me =>
        {
            SpanRecorder.Mark();
            using var outer = SpanRecorder.User.StartActivity("outer");
            me.Send(me.Id, new { tag = "self", n = 3 });
            received = me.Recv(new { tag = "self" }, Bound);
            Assert.Same(outer, Activity.Current);
        }).WaitAsync(Bound);
        Assert.Equal(3, received!.Get<int>("n"));
        Assert.NotNull(received.TraceParent);
    }

    [Fact]
    public void A_send_that_names_a_trace_attribute_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => Packet.From(new Dictionary<string, object?> { [Packet.TraceAttribute] = Parent }));
        Assert.Contains("'river.trace'", e.Message);
        Assert.Throws<ArgumentException>(() => Packet.From(new Dictionary<string, object?> { [Packet.TraceStateAttribute] = "k=v" }));
    }

    [Fact]
    public void On_the_wire_the_context_is_two_string_attributes_first_which_the_reader_takes_out()
    {
        var serializer = new RiverSerializer();
        var (src, dest) = (VrId.New(), VrId.New());
        var traced = new Packet(src, dest, ["tag"], ["t"]) { Trace = new PacketTrace(Parent, "k=v", default) };
        var bytes = Write(serializer, traced);

        // What a peer that does not know the attributes reads: a packet with two more string attributes.
        Assert.Equal(Write(serializer, new Packet(src, dest, [Packet.TraceAttribute, Packet.TraceStateAttribute, "tag"], [Parent, "k=v", "t"])), bytes);

        var back = serializer.ReadPacket(bytes);
        Assert.Equal(Parent, back.TraceParent);
        Assert.Equal("k=v", back.TraceState);
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", back.TraceContext.TraceId.ToHexString());
        Assert.Equal("k=v", back.TraceContext.TraceState);
        Assert.True(back.TraceContext.IsRemote);
        Assert.Equal(["src", "dest", "tag"], back.Keys);

        // Without a context nothing is added.
        var plain = Write(serializer, new Packet(src, dest, ["tag"], ["t"]));
        Assert.DoesNotContain("river.trace", Encoding.ASCII.GetString(plain), StringComparison.Ordinal);
        Assert.Null(serializer.ReadPacket(plain).TraceParent);
    }

    [Fact]
    public void A_traced_packet_that_ends_in_a_big_byte_array_still_has_it_read_apart()
    {
        var serializer = new RiverSerializer();
        var data = new byte[100_000];
        var bytes = Write(serializer, new Packet(VrId.New(), VrId.New(), ["tag", "data"], ["t", data]) { Trace = new PacketTrace(Parent, null, default) });
        Assert.True(RiverSerializer.TryFindTail(bytes[..200], bytes.Length, out var tail, out _));
        Assert.Equal(bytes.Length - data.Length, tail);
        var back = serializer.ReadPacket(bytes[..tail], tail: data);
        Assert.Same(data, back["data"]);
        Assert.Equal(Parent, back.TraceParent);
    }

    [Fact]
    public void A_malformed_trace_attribute_from_a_peer_is_refused_or_ignored_never_a_crash()
    {
        var serializer = new RiverSerializer();
        var notText = Write(serializer, new Packet(VrId.New(), VrId.New(), [Packet.TraceAttribute, "tag"], [42, "t"]));
        var e = Assert.Throws<MessagePackSerializationException>(() => serializer.ReadPacket(notText));
        Assert.Contains("'river.trace'", e.Message);

        // Not W3C: kept as sent, but no parent for spans.
        var garbage = serializer.ReadPacket(Write(serializer, new Packet(VrId.New(), VrId.New(), [Packet.TraceAttribute, "tag"], ["not-a-traceparent", "t"])));
        Assert.Equal("not-a-traceparent", garbage.TraceParent);
        Assert.Equal(default, garbage.TraceContext);
        Assert.Equal(["src", "dest", "tag"], garbage.Keys);
    }

    private static byte[] Write(RiverSerializer serializer, Packet packet)
    {
        var buffer = new ArrayBufferWriter<byte>();
        serializer.WritePacket(buffer, packet);
        return buffer.WrittenSpan.ToArray();
    }
}

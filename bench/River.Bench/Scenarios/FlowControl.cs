using River.Bench.Remote;
using River.Bench.Vrs;

namespace River.Bench.Scenarios;

/// <summary>
/// What end-to-end flow control costs a stream: a VR streams 1 KiB packets (<c>new { tag = "d", data }</c>,
/// then a sync) to a sink VR on a <c>river vm</c> process whose queue has the default limit, so the
/// stream runs on credit, against the same stream to a sink whose queue is unbounded (credit comes
/// back as packets arrive, so the sender never waits), alternating in the same run. Messages per second.
/// </summary>
internal sealed class FlowControl : Scenario
{
    private const int PayloadBytes = 1024;

    public override string Name => "flow-control";

    public override IEnumerable<Result> Run(RunSettings s)
    {
        var plan = s.Pick(new Plan(1, 5, 1.0), new Plan(2, 9));
        var count = s.Pick(100_000, 400_000);
        using var cluster = new RiverCluster();
        var (process, port) = cluster.StartVmAndWait("river vm", s.Timeout);
        using var _ = process;
        var vm = cluster.Join(port);
        try
        {
            VmInfo? far = null;
            Measure.Until(() => (far = vm.Discover(null, null).FirstOrDefault(i => i.Id != vm.Id)) is not null, s.Timeout, "the river vm showing up in Discover");
            var sinks = Measure.Await(BodyVr.Start(vm, vr => new[] { vr.Deploy<PeerVr>(far!, false), vr.Deploy<UnboundedPeerVr>(far!, false) }, out var _),
                s.Timeout, "deploying the sinks");
            var data = new byte[PayloadBytes];
            new Random(PayloadBytes).NextBytes(data);
            var samples = Measure.Alternate(2, plan, new Plan(0, 1, 0), (side, p) => Measure.Repeat(p, () =>
                Measure.Await(BodyVr.Start(vm, vr => Stream(vr, sinks[side], data, count), out var _), s.Timeout, $"streaming to sink {side}")));
            Measure.Await(BodyVr.Start(vm, vr =>
            {
                foreach (var sink in sinks) vr.Send(sink, new { tag = "stop" });
                return 0;
            }, out var _), s.Timeout, "stopping the sinks");
            yield return new Result(Name, $"one way, {PayloadBytes:N0} B, queue limit vs unbounded", "msgs/s",
                Stats.Of(samples[0]), "river-unbounded", Stats.Of(samples[1]), Target.RatioAtLeast(0.9));
        }
        finally
        {
            vm.DisposeAsync().AsTask().Wait(s.Timeout);
        }
    }

    private static double Stream(VirtualResource vr, VrId sink, byte[] data, int count)
    {
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++) vr.Send(sink, new { tag = "d", data });
        vr.Send(sink, new { tag = "sync" });
        vr.Recv(new { tag = "sync" });
        return count / Measure.Seconds(start);
    }
}

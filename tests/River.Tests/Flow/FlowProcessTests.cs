using System.Diagnostics;
using River.Tests.Cluster;
using Xunit.Abstractions;

namespace River.Tests.Flow;

/// <summary>
/// Flow control across processes: before it, a 2,000,000-packet flood of 1 KiB to a slow sink grew the
/// sink's <c>river vm</c> to 1.7 GB (3.1 GB for 4M). Now what the sink holds is one credit window.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class FlowProcessTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    // A river vm idles at ~70-100 MB; one window (8 MiB of frames, ~10 MiB as packets) and GC slack add tens of MB.
    // Unbounded, 400,000 queued packets of 1 KiB would take ~500 MB.
    private const long PeakBound = 250L << 20;

    // Doubling the flood may add GC noise, not another flood's worth (~250 MB unbounded).
    private const long GrowthBound = 40L << 20;

    [Fact]
    public async Task A_flood_to_a_slow_VR_on_a_river_vm_arrives_whole_and_in_order_and_its_peak_RSS_does_not_grow_with_the_flood()
    {
        using var cluster = TestCluster.Create();
        using var vm = await VmProcess.StartAsync(cluster);
        var options = cluster.Options();
        options.Seeds.Add(vm.Address);
        await using var local = await RiverVm.JoinAsync(options);
        var peaks = new List<long>();
        foreach (var count in new[] { 200_000, 400_000 })
        {
            var watch = Stopwatch.StartNew();
            Packet? done = null;
            // The sink sleeps 1 ms every 1,000 packets (not every 100, to keep CI time reasonable).
            await Probe.Run(local, me =>
            {
                var sink = me.Deploy<FloodSink>(me.Discover(wait: Bound).Single(v => v.Id.ToString() == vm.Id), count, 1000);
                FloodSink.Flood(me, sink, count);
                done = me.Recv(new { tag = "done" }, Bound);
            }).WaitAsync(Bound);
            var peak = Security.ProcStatus.Read(vm.Pid, "VmHWM") * 1024;
            peaks.Add(peak);
            output.WriteLine($"{count:N0} packets in {watch.Elapsed.TotalSeconds:0.0} s; sink queue at most {done!.Get<int>("maxQueued"):N0}; sink VM peak RSS {peak >> 20} MB");
            Assert.Equal("", done.Get<string>("error"));
            Assert.True(peak < PeakBound, $"the sink VM peaked at {peak >> 20} MB (bound {PeakBound >> 20} MB)\n{vm}");
        }
        Assert.True(peaks[1] - peaks[0] < GrowthBound, $"doubling the flood grew the sink VM's peak by {(peaks[1] - peaks[0]) >> 20} MB\n{vm}");
    }
}

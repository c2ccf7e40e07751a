using System.Diagnostics;
using River.Tests.Cluster;
using Xunit.Abstractions;

namespace River.Tests.Security;

/// <summary>
/// 600,000 spellings of System.Int32 from a peer holding the key once grew a VM from 110 MB to 512 MB
/// (every spelling was cached for good). Now a VM keeps none of them and stays up.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class TypeNameFloodTests(ITestOutputHelper output)
{
    private const int Spellings = 600_000;
    private const int PerFrame = 10_000;

    // 600,000 cached spellings cost about 400 MB (~700 bytes each); 60 MB is far above what parsing
    // one 0.7 MB frame at a time and GC noise add, and below a leak of even a seventh of the flood.
    private const long Bound = 60L << 20;

    [Fact]
    public async Task Six_hundred_thousand_spellings_of_Int32_do_not_grow_a_VM()
    {
        using var cluster = TestCluster.Create();
        using var vm = await VmProcess.StartAsync(cluster);
        var watch = Stopwatch.StartNew();
        // A first round warms up what any frame costs (JIT, buffers, the first refusals' log lines).
        await FloodAsync(vm, cluster, 0, 4 * PerFrame);
        await Task.Delay(500);
        var before = vm.RssBytes();
        await FloodAsync(vm, cluster, 4 * PerFrame, Spellings);
        await Task.Delay(500);
        var grown = vm.RssBytes() - before;
        output.WriteLine($"RSS {before >> 20} MB, grown by {grown >> 20} MB after {Spellings} spellings in {watch.Elapsed}");

        Assert.False(vm.HasExited, $"the VM died\n{vm}");
        Assert.True(grown < Bound, $"the VM grew by {grown >> 20} MB (bound {Bound >> 20} MB)\n{vm}");
        await vm.WaitForLogAsync("is not spelled as this VM names the type", TimeSpan.FromSeconds(5));
        Assert.Equal([vm.Id], (await RiverCli.StatusAsync(cluster, vm.Address)).Ids());
    }

    /// <summary>
    /// Spellings [from, to), half as packet attributes to a VR that does not exist, half nested in an
    /// object[] control message; one frame per connection, since a VM drops a connection after a bad frame.
    /// </summary>
    private static async Task FloodAsync(VmProcess vm, TestCluster cluster, int from, int to)
    {
        for (var start = from; start < to; start += PerFrame)
        {
            var names = Enumerable.Range(start, Math.Min(PerFrame, to - start)).Select(HostileValues.Int32Spelling).ToList();
            byte[] body = start / PerFrame % 2 == 0
                ? [Frames.PacketKind, .. HostileValues.Packet(Guid.NewGuid(), [.. names.Select(n => HostileValues.Named(n, HostileValues.Five))])]
                : [Frames.ControlKind, .. HostileValues.Nested(names, HostileValues.Five)];
            using var client = await WireClient.ConnectAsync(vm.Port, default);
            client.Authenticate(cluster.Options());
            try
            {
                await client.SendAsync(WireClient.Framed(body), default);
            }
            catch (IOException)
            {
                // The VM refused an earlier part of the frame and closed: what it should do.
            }
            Assert.True(await client.FinishAsync(TimeSpan.FromSeconds(7)), $"the VM left the connection open\n{vm}");
        }
    }
}

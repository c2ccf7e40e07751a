using System.Buffers.Binary;
using River.Tests.Cluster;
using Xunit.Abstractions;

namespace River.Tests.Security;

/// <summary>
/// A frame's length prefix is a claim, not a reservation: a VM grows its buffer as a frame's bytes arrive,
/// so peers that announce the largest frame and then send a trickle hold little of its memory.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class LengthFloodTests(ITestOutputHelper output)
{
    private const int Clients = 16;
    private const int Claimed = 64 << 20; // the default maximum frame size, so the length itself is accepted

    [Fact]
    public async Task Sixteen_authenticated_peers_claiming_64_MiB_frames_cost_the_VM_little_memory()
    {
        using var cluster = TestCluster.Create();
        using var vm = await VmProcess.StartAsync(cluster);
        var options = cluster.Options();
        var pid = vm.Pid;
        var rssBefore = ProcStatus.Read(pid, "VmRSS");
        var clients = new List<WireClient>();
        try
        {
            var opening = new byte[4 + 8 * 1024];
            BinaryPrimitives.WriteInt32LittleEndian(opening, Claimed);
            opening[4] = Frames.PacketKind;
            for (var i = 0; i < Clients; i++)
            {
                var client = await WireClient.ConnectAsync(vm.Port, default);
                clients.Add(client);
                client.Authenticate(options);
                await client.SendAsync(opening, default);
            }

            // A few more bytes of the frames every 250 ms: the VM hears from each peer, so it keeps them (it
            // drops one silent for 2 s), and never gets a whole frame.
            var rssMax = rssBefore;
            for (var i = 0; i < 16; i++)
            {
                foreach (var client in clients) await client.SendAsync(new byte[64], default);
                await Task.Delay(250);
                rssMax = Math.Max(rssMax, ProcStatus.Read(pid, "VmRSS"));
            }
            // Checked before status: a peer silent for 2 s (status may take that long here) is dropped.
            var closed = clients.Count(c => c.ClosedByPeer());
            var status = await RiverCli.StatusAsync(cluster, vm.Address);
            var growthMb = (rssMax - rssBefore) / 1024.0;
            output.WriteLine($"VmRSS {rssBefore / 1024.0:0} MB before, at most {rssMax / 1024.0:0} MB with {Clients} frames pending (+{growthMb:0} MB)");

            Assert.False(vm.HasExited, $"the VM died\n{vm}");
            Assert.Contains(vm.Id, status.Ids());
            // Every peer is still connected: the VM took the claimed lengths, and waits for the bytes.
            Assert.Equal(0, closed);
            // Reserving what the lengths claim took +1.2 GiB; growing with the bytes, each connection holds a
            // 64 KiB read buffer and a record buffer: a few MB, well below 100 MB even with GC noise.
            Assert.True(growthMb < 100, $"VmRSS grew by {growthMb:0} MB");
        }
        finally
        {
            foreach (var client in clients) client.Dispose();
        }
    }
}

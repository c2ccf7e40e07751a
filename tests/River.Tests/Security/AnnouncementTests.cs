using System.Net;
using System.Net.Sockets;
using River.Tests.Cluster;
using Xunit.Abstractions;

namespace River.Tests.Security;

/// <summary>
/// Multicast announcements make a VM dial whoever they name, so they are signed. A VM with multicast on
/// binds UDP 0.0.0.0:47077; loopback has no multicast route here, but a unicast datagram to
/// 127.0.0.1:47077 reaches the same socket, which is how these tests speak to it. Listeners on
/// loopback count the dials each announcement causes.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class AnnouncementTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private static readonly IPEndPoint Discovery = new(IPAddress.Loopback, 47077);

    // A VM dials only VMs with a larger id than its own (the smaller id dials): announce such ids.
    private static VmId LargerThan(VmProcess vm)
    {
        var own = Guid.Parse(vm.Id);
        Guid id;
        do id = Guid.NewGuid();
        while (id.CompareTo(own) <= 0);
        return new VmId(id);
    }

    // Other River processes on this machine may bind the port too (SO_REUSEADDR); then a unicast datagram reaches one of them.
    private static int SocketsOnDiscoveryPort() =>
        File.Exists("/proc/net/udp") ? File.ReadLines("/proc/net/udp").Count(l => l.Contains($":{Discovery.Port:X4} ", StringComparison.Ordinal)) : -1;

    // Keeps the cluster's tag (anyone who hears one announcement has it) but not a valid signature.
    private static byte[] Tampered(byte[] signed)
    {
        var bytes = signed.ToArray();
        bytes[^1] ^= 0x5A;
        return bytes;
    }

    [Fact]
    public async Task Forged_replayed_and_stale_announcements_make_no_dial_and_a_signed_one_makes_one()
    {
        using var cluster = TestCluster.Create();
        using var vm = await VmProcess.StartAsync(cluster, null, multicast: true);
        using var udp = new UdpClient(AddressFamily.InterNetwork);
        var signer = new Announcement(cluster.Options());
        using var wrongKey = cluster.WithWrongKey();
        var impostor = new Announcement(wrongKey.Options());
        using var forgedTo = new CountingListener();
        using var signedTo = new CountingListener();
        using var replayedTo = new CountingListener();
        using var staleTo = new CountingListener();

        // (a) Signed with another key (another cluster's tag: ignored quietly), and tampered (logged).
        udp.Send(impostor.Sign(LargerThan(vm), "127.0.0.1", forgedTo.Port), Discovery);
        udp.Send(Tampered(signer.Sign(LargerThan(vm), "127.0.0.1", forgedTo.Port)), Discovery);
        var ignored = await vm.WaitForLogAsync("Ignored 1 multicast announcements from 127.0.0.1", Bound);
        Assert.Contains("the signature does not match this cluster's key", ignored);

        // (b) A signed announcement is dialed, once.
        var id = LargerThan(vm);
        var sentAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var signed = signer.Sign(id, "127.0.0.1", signedTo.Port, sentAt);
        udp.Send(signed, Discovery);
        Assert.True(await signedTo.WaitForAsync(1, Bound), $"the VM did not dial a signed announcement ({SocketsOnDiscoveryPort()} UDP sockets on port 47077)\n{vm}");

        // Its bytes again, and a signature of the same id and time naming another port: replays both.
        // (c) A signed announcement 60 s old: stale.
        udp.Send(signer.Sign(id, "127.0.0.1", replayedTo.Port, sentAt), Discovery);
        udp.Send(signer.Sign(LargerThan(vm), "127.0.0.1", staleTo.Port, sentAt - 60_000), Discovery);
        for (var i = 0; i < 5; i++)
        {
            udp.Send(signed, Discovery);
            await Task.Delay(500);
        }
        // The dial of (b) failed (the listener closed at once) and left no link, so nothing re-dials it;
        // any further connection came from an announcement.
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(0, forgedTo.Accepted);
        Assert.Equal(1, signedTo.Accepted);
        Assert.Equal(0, replayedTo.Accepted);
        Assert.Equal(0, staleTo.Accepted);
        Assert.False(vm.HasExited, $"the VM died\n{vm}");
    }

    [Fact]
    public async Task A_flood_of_announcements_costs_a_bounded_number_of_threads_and_log_lines()
    {
        using var cluster = TestCluster.Create();
        using var vm = await VmProcess.StartAsync(cluster, null, multicast: true);
        using var udp = new UdpClient(AddressFamily.InterNetwork);
        var signer = new Announcement(cluster.Options());
        using var forgedTo = new CountingListener();
        // Ten addresses (all of 127/8 is loopback), as the pool makes one dial per address at a time.
        var blackHoles = Enumerable.Range(2, 10).Select(i => new CountingListener(silent: true, IPAddress.Parse($"127.0.0.{i}"))).ToList();
        var pid = vm.Pid;
        var threadsBefore = ProcStatus.Read(pid, "Threads");
        var linesBefore = vm.StderrLines.Count;

        // 300 a second for 5 s: 280 forged, and 20 signed ones with fresh ids at ports that accept and never
        // answer (what a key holder gone rogue could send): each of those dials waits out the 5 s handshake
        // timeout, so only the dial pool's bound keeps them from taking a thread each.
        async Task<long> FloodAsync()
        {
            var most = threadsBefore;
            for (var tick = 0; tick < 50; tick++)
            {
                for (var i = 0; i < 28; i++) udp.Send(Tampered(signer.Sign(LargerThan(vm), "127.0.0.1", forgedTo.Port)), Discovery);
                for (var i = 0; i < 2; i++)
                {
                    var hole = (2 * tick + i) % blackHoles.Count;
                    udp.Send(signer.Sign(LargerThan(vm), $"127.0.0.{hole + 2}", blackHoles[hole].Port), Discovery);
                }
                if (tick % 2 == 0) most = Math.Max(most, ProcStatus.Read(pid, "Threads"));
                await Task.Delay(100);
            }
            await Task.Delay(TimeSpan.FromSeconds(1));
            return Math.Max(most, ProcStatus.Read(pid, "Threads"));
        }

        long maxThreads;
        try
        {
            maxThreads = await FloodAsync();
        }
        finally
        {
            foreach (var hole in blackHoles) hole.Dispose();
        }
        var lines = vm.StderrLines.Count - linesBefore;
        var dials = blackHoles.Sum(h => h.Accepted);
        output.WriteLine($"threads: {threadsBefore} before, at most {maxThreads} during the flood; {lines} log lines; {dials} dials to black holes");

        Assert.False(vm.HasExited, $"the VM died\n{vm}");
        Assert.Equal(0, forgedTo.Accepted);
        Assert.True(dials > 0, "signed announcements were dialed");
        // A thread a dial (before the dial pool) made this 320; now the pool's 8 dialers and a handshake
        // thread or two come on top of the VM's own threads (some 20-30).
        Assert.True(maxThreads < 80, $"{maxThreads} threads during the flood ({threadsBefore} before)");
        // Ignored announcements and refused dials are logged once per source address every 10 s: a line
        // for 127.0.0.1 and one for each black hole, not one per announcement.
        Assert.True(lines < 30, $"{lines} log lines during the flood:\n{string.Join('\n', vm.StderrLines.Skip(linesBefore))}");
        Assert.Contains(vm.Id, (await RiverCli.StatusAsync(cluster, vm.Address)).Ids());
    }
}

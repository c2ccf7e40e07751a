using System.Buffers;
using System.Net;
using System.Net.Sockets;
using MessagePack;

namespace River.Tests.Cluster;

/// <summary>
/// Hostile input and faults that once took VMs down or split clusters. The wire ones send one input a
/// peer holding the cluster key (or, for the hello, anybody) can send, and expect what RiverVm.OnFrame
/// promises: the input is logged and dropped, the connection closed, and the VM carries on. The
/// membership ones expect a cluster to heal after a VM was silent for a few seconds.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class HostileInputAndHealingTests
{
    private static async Task AssertVmSurvives(Func<ClusterOptions, byte[]> input, bool authenticate = true)
    {
        using var cluster = TestCluster.Create();
        using var vm = await VmProcess.StartAsync(cluster);
        using (var client = await WireClient.ConnectAsync(vm.Port, default))
        {
            if (authenticate) client.Authenticate(cluster.Options());
            await client.SendAsync(input(cluster.Options()), default);
            Assert.True(await client.FinishAsync(TimeSpan.FromSeconds(7)), $"the VM left the connection open\n{vm}");
        }
        await Task.Delay(500);
        Assert.False(vm.HasExited, $"the VM died\n{vm}");
        Assert.Equal([vm.Id], (await RiverCli.StatusAsync(cluster, vm.Address)).Ids());
    }

    private static byte[] Control(object message) => WireClient.Framed(Frames.Control(new RiverSerializer(), message));

    [Fact]
    public Task An_Announce_without_VM_info_is_dropped() => AssertVmSurvives(_ => Control(new Announce(null!)));

    [Fact]
    public Task A_Members_message_without_a_list_is_dropped() => AssertVmSurvives(_ => Control(new Members(null!)));

    [Fact]
    public Task A_code_upload_with_a_wrong_hash_is_dropped() => AssertVmSurvives(_ => Control(new CodeUpload("AB", [1, 2, 3])));

    [Fact]
    public Task A_hello_with_an_out_of_range_version_is_refused_and_closed() => AssertVmSurvives(options =>
    {
        var buffer = new ArrayBufferWriter<byte>();
        var w = new MessagePackWriter(buffer);
        w.WriteArrayHeader(7);
        w.Write("RIVER");
        w.Write(uint.MaxValue);   // the version
        IdFormatters.WriteGuid(ref w, Guid.NewGuid());
        w.Write(Handshake.NewNonce());
        w.Write("host");
        w.Write(1);
        w.Write(0);
        w.Flush();
        return WireClient.Framed(buffer.WrittenSpan);
    }, authenticate: false);

    [Fact]
    public async Task A_VM_paused_for_3_s_is_back_in_the_cluster_once_it_resumes()
    {
        using var cluster = TestCluster.Create();
        var vms = await VmProcess.StartManyAsync(cluster, 3);
        try
        {
            vms[2].Pause();
            await Task.Delay(TimeSpan.FromSeconds(3));
            vms[2].Resume();
            await RiverCli.StatusUntilAsync(cluster, vms[0].Address, s => s.Ids().SequenceEqual(vms.Ids()), TimeSpan.FromSeconds(10), "all three VMs again");
        }
        finally
        {
            vms.DisposeAll();
        }
    }

    [Fact]
    public async Task Idle_unauthenticated_connections_do_not_split_the_cluster()
    {
        using var cluster = TestCluster.Create();
        var vms = await VmProcess.StartManyAsync(cluster, 3);
        var idle = new List<Socket>();
        try
        {
            for (var i = 0; i < 300; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                idle.Add(socket);
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, vms[0].Port));
            }
            await Task.Delay(TimeSpan.FromSeconds(8));
            foreach (var socket in idle) socket.Dispose();
            Assert.DoesNotContain(vms[1].StderrLines, l => l.Contains($"VM {vms[0].Id} left", StringComparison.Ordinal) || l.Contains($"VM {vms[0].Id} suspected", StringComparison.Ordinal));
            await RiverCli.StatusUntilAsync(cluster, vms[1].Address, s => s.Ids().SequenceEqual(vms.Ids()), TimeSpan.FromSeconds(5), "all three VMs");
        }
        finally
        {
            foreach (var socket in idle) socket.Dispose();
            vms.DisposeAll();
        }
    }
}

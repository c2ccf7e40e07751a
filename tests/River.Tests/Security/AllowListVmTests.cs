using River.Tests.Cluster;

namespace River.Tests.Security;

/// <summary>River's internals from the wire, sent by a peer holding the key: refused and logged, the VM stays up.</summary>
[Collection(ProcessCollection.Name)]
public sealed class AllowListVmTests
{
    [Fact]
    public async Task A_Mailbox_in_a_control_frame_and_a_HandshakeException_in_a_packet_are_refused()
    {
        using var cluster = TestCluster.Create();
        using var vm = await VmProcess.StartAsync(cluster);
        byte[][] frames =
        [
            [Frames.ControlKind, .. HostileValues.Named(typeof(Mailbox).AssemblyQualifiedName!, HostileValues.EmptyMap)],
            [Frames.PacketKind, .. HostileValues.Packet(Guid.NewGuid(), [HostileValues.Named(typeof(HandshakeException).AssemblyQualifiedName!, HostileValues.EmptyMap)])],
        ];
        foreach (var frame in frames)
        {
            using var client = await WireClient.ConnectAsync(vm.Port, default);
            client.Authenticate(cluster.Options());
            await client.SendAsync(WireClient.Framed(frame), default);
            Assert.True(await client.FinishAsync(TimeSpan.FromSeconds(7)), $"the VM left the connection open\n{vm}");
        }
        await vm.WaitForLogAsync($"Type '{typeof(Mailbox).FullName}' is not on this cluster's allow-list", TimeSpan.FromSeconds(5));
        await vm.WaitForLogAsync($"Type '{typeof(HandshakeException).FullName}' is not on this cluster's allow-list", TimeSpan.FromSeconds(5));
        Assert.False(vm.HasExited, $"the VM died\n{vm}");
        Assert.Equal([vm.Id], (await RiverCli.StatusAsync(cluster, vm.Address)).Ids());
    }
}

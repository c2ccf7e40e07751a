using System.Buffers.Binary;
using System.Security.Cryptography;
using River.Tests.Cluster;
using Xunit.Abstractions;

namespace River.Tests.Security;

/// <summary>
/// An attacker who relays a connection between two VMs (as a forged announcement or a poisoned seed
/// once made a VM dial it) but holds no key. The handshake passes through it, yet every later byte is
/// in records under keys it cannot derive: whatever it injects, replays or reorders fails the MAC,
/// the receiving VM closes that connection with a warning, and nothing it sent is acted on.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class RelayWithoutKeyTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);
    private const string AuthFailed = "a record failed authentication";

    /// <summary>What a keyholder could send: a heartbeat, a status request, a code upload, a deploy request.</summary>
    private static byte[] KeyholderFrames()
    {
        var serializer = new RiverSerializer();
        var deploy = new DeployRequest(1, new VrId(Guid.NewGuid()), "System.Diagnostics.Process", null, ["/bin/true"], [], Guid.NewGuid(), []);
        return
        [
            .. WireClient.Framed([Frames.HeartbeatKind]),
            .. WireClient.Framed(Frames.Control(serializer, new StatusRequest())),
            .. WireClient.Framed(Frames.Control(serializer, new CodeUpload("AB", [1, 2, 3]))),
            .. WireClient.Framed(Frames.Control(serializer, deploy)),
        ];
    }

    /// <summary>The frames as one record with a tag the relay made up (it has no key to make a real one).</summary>
    private static byte[] ForgedRecord(byte[] payload)
    {
        var record = new byte[4 + payload.Length + Pump.TagSize];
        BinaryPrimitives.WriteInt32LittleEndian(record, payload.Length);
        payload.CopyTo(record, 4);
        RandomNumberGenerator.Fill(record.AsSpan(4 + payload.Length));
        return record;
    }

    /// <summary>Starts VM A seeded with the relay in front of <paramref name="b"/> and returns once their link runs through it.</summary>
    private static async Task<(VmProcess A, Relayed Link)> JoinThroughAsync(TestCluster cluster, VmProcess b, Relay relay)
    {
        var a = await VmProcess.StartAsync(cluster, null, "--seeds", relay.Address);
        try
        {
            await b.WaitForLogAsync($"VM {a.Id} joined", Bound);
            return (a, await relay.LiveAsync(records: 2, Bound));
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            a.Dispose();
            throw new TimeoutException($"A did not join B through the relay ({string.Join(", ", relay.Connections)})\nA: {a}\nB: {b}", e);
        }
    }

    private static void AssertNothingActedOn(params VmProcess[] vms)
    {
        foreach (var vm in vms)
        {
            // Any of these would mean an injected frame got past the record layer.
            Assert.DoesNotContain(vm.StderrLines, l => l.Contains("Deployed", StringComparison.Ordinal));
            Assert.DoesNotContain(vm.StderrLines, l => l.Contains("Refused deploy", StringComparison.Ordinal));
            Assert.DoesNotContain(vm.StderrLines, l => l.Contains("Dropped a frame", StringComparison.Ordinal));
            Assert.False(vm.HasExited, $"the VM died\n{vm}");
        }
    }

    [Fact]
    public async Task Frames_a_relay_injects_either_way_fail_authentication_and_close_the_connection()
    {
        using var cluster = TestCluster.Create();
        using var b = await VmProcess.StartAsync(cluster);
        using var relay = new Relay(b.Port);
        var (a, link) = await JoinThroughAsync(cluster, b, relay);
        using (a)
        {
            var frames = KeyholderFrames();
            // Toward B the frames go as they would without records; toward A as a record with a made-up tag.
            await Task.WhenAll(link.ToAcceptor.InjectAsync(frames), link.ToDialer.InjectAsync(ForgedRecord(frames)));

            await b.WaitForLogAsync($"Closed the connection to VM {a.Id}: {AuthFailed}", Bound);
            await a.WaitForLogAsync($"Closed the connection to VM {b.Id}: {AuthFailed}", Bound);
            await link.Closed.WaitAsync(Bound);
            // A re-dials B at the address B's (authenticated) hello gave: the link heals without the relay.
            await RiverCli.StatusUntilAsync(cluster, b.Address, s => s.Ids().SequenceEqual(new[] { a, b }.Ids()), Bound, "A and B linked again");
            AssertNothingActedOn(a, b);
            output.WriteLine($"relayed connections: {string.Join(", ", relay.Connections)}");
        }
    }

    [Fact]
    public async Task A_record_the_relay_replays_fails_authentication()
    {
        using var cluster = TestCluster.Create();
        using var b = await VmProcess.StartAsync(cluster);
        using var relay = new Relay(b.Port);
        var (a, link) = await JoinThroughAsync(cluster, b, relay);
        using (a)
        {
            // A genuine record A sealed, sent to B a second time: its sequence number is behind B's.
            await link.ToAcceptor.InjectAsync(link.ToAcceptor.Records[^1]);

            await b.WaitForLogAsync($"Closed the connection to VM {a.Id}: {AuthFailed}", Bound);
            await link.Closed.WaitAsync(Bound);
            AssertNothingActedOn(a, b);
        }
    }

    [Fact]
    public async Task Two_records_the_relay_swaps_fail_authentication()
    {
        using var cluster = TestCluster.Create();
        using var b = await VmProcess.StartAsync(cluster);
        using var relay = new Relay(b.Port);
        var (a, link) = await JoinThroughAsync(cluster, b, relay);
        using (a)
        {
            // B's next two records (heartbeats at least, every 250 ms) reach A in the wrong order.
            link.ToDialer.SwapNextTwoRecords();

            await a.WaitForLogAsync($"Closed the connection to VM {b.Id}: {AuthFailed}", Bound);
            await link.Closed.WaitAsync(Bound);
            AssertNothingActedOn(a, b);
        }
    }

    /// <summary>
    /// Not an attack, but what a relay shows: a VM that reached its seed's VM under another address (a relay,
    /// NAT, a load balancer, a DNS alias) is linked to that VM, yet Redial still dials the seed's address every
    /// second, a full handshake each time, closed as a duplicate on both sides without a log line.
    /// </summary>
    [Fact]
    public async Task A_VM_linked_to_the_VM_behind_its_seed_address_stops_dialing_that_address()
    {
        using var cluster = TestCluster.Create();
        using var b = await VmProcess.StartAsync(cluster);
        using var relay = new Relay(b.Port);
        var (a, _) = await JoinThroughAsync(cluster, b, relay);
        using (a)
        {
            var before = relay.Connections.Count;
            await Task.Delay(TimeSpan.FromSeconds(5));
            var dialed = relay.Connections.Count - before;
            output.WriteLine($"{dialed} more connections through the seed address in 5 s: {string.Join(", ", relay.Connections)}");
            Assert.True(dialed <= 1, $"A dialed its seed's address {dialed} times in 5 s while linked to the VM behind it");
        }
    }
}

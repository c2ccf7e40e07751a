using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace River.Tests.Transport;

/// <summary>
/// <c>river status</c> (<see cref="ClusterStatus.Collect"/>) when some addresses never answer: with 32 VMs in
/// network namespaces, connects that the kernel could not send (its shared ARP table was full) held the tool
/// in SYN-SENT for minutes. Each such VM must now cost at most its handshake timeout, with a line saying why.
/// And what it reads of a link: the bytes that keep an idle one alive.
/// </summary>
public sealed class ClusterStatusTests
{
    [Fact]
    public async Task Collect_reports_an_address_that_never_accepts_and_one_that_never_answers_within_the_handshake_timeout_and_lists_the_VM_that_does()
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        await using var vm = await RiverVm.JoinAsync(TcpClusterTests.Options(name));
        // A listener whose accept queue is full drops further SYNs (Linux): a connect to it waits, unanswered.
        using var full = Listen(backlog: 0);
        using var queued = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        queued.Connect(full.LocalEndPoint!);
        // One that takes the connection and then says nothing.
        using var silent = Listen(backlog: 4);
        var (unanswered, mute, live) = ($"{full.LocalEndPoint}", $"{silent.LocalEndPoint}", $"127.0.0.1:{vm.Info.Port}");
        var options = TcpClusterTests.Options(name);
        var limit = $"{options.HandshakeTimeout.TotalSeconds:0.#} s";

        var errors = new ConcurrentDictionary<string, string>();
        // Bounded well below the kernel's SYN retries (over 2 minutes), which is what an unbounded connect waits.
        var found = await Task.Run(() => ClusterStatus.Collect([unanswered, mute, live], options, (address, e) => errors[address] = e.Message))
            .WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal([vm.Id], found.Select(s => s.Vm.Id));
        Assert.Equal(
            new[] { (mute, $"{mute}: no handshake within {limit}"), (unanswered, $"{unanswered}: no connection within {limit}") }.Order(),
            errors.Select(e => (e.Key, e.Value)).Order());
    }

    /// <summary>
    /// What keeps an idle link alive (heartbeats, every 250 ms each way) is counted, and a tool sees it: the idle
    /// cluster's membership traffic, which <c>river status --json</c> and the membership bench read.
    /// </summary>
    [Fact]
    public async Task An_idle_links_total_bytes_count_its_heartbeats_and_a_tool_reads_them()
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        await using var a = await RiverVm.JoinAsync(TcpClusterTests.Options(name));
        await using var b = await RiverVm.JoinAsync(TcpClusterTests.Options(name, a));
        var options = TcpClusterTests.Options(name);
        LinkStatus? LinkToB() => ClusterStatus.Ask("127.0.0.1", a.Info.Port, options).Links.SingleOrDefault(l => l.Peer == b.Id);
        await Condition.Until(() => LinkToB() is { State: "connected" }, TimeSpan.FromSeconds(30), "the link to b");
        var first = LinkToB()!;
        await Task.Delay(TimeSpan.FromSeconds(2));
        var later = LinkToB()!;

        // Every frame with its length: the numbered ones (the joins' announcements, gossip) are in the total too.
        Assert.True(first.TotalBytesSent >= first.BytesSent + 4 * first.FramesSent, $"{first}: total sent below the numbered frames");
        Assert.True(first.TotalBytesReceived >= first.BytesReceived + 4 * first.FramesReceived, $"{first}: total received below the numbered frames");
        // At least two heartbeats (5 bytes with their length) each way in 2 s, however loaded the machine.
        Assert.True(later.TotalBytesSent - first.TotalBytesSent >= 10, $"sent {first.TotalBytesSent} then {later.TotalBytesSent}");
        Assert.True(later.TotalBytesReceived - first.TotalBytesReceived >= 10, $"received {first.TotalBytesReceived} then {later.TotalBytesReceived}");
    }

    private static Socket Listen(int backlog)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen(backlog);
        return socket;
    }
}

using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace River.Tests.Transport;

/// <summary>
/// <c>river status</c> (<see cref="ClusterStatus.Collect"/>) when some addresses never answer: with 32 VMs in
/// network namespaces, connects that the kernel could not send (its shared ARP table was full) held the tool
/// in SYN-SENT for minutes. Each such VM must now cost at most its handshake timeout, with a line saying why.
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

    private static Socket Listen(int backlog)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen(backlog);
        return socket;
    }
}

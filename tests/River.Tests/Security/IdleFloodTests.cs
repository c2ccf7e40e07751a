using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using River.Tests.Cluster;
using River.Tests.Samples;
using Xunit.Abstractions;

namespace River.Tests.Security;

/// <summary>
/// Connections that never send a byte cost a VM no thread and are closed after 5 s; an attacker who
/// reopens them at once must not keep a program from joining, nor fill the VM's log.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class IdleFloodTests(ITestOutputHelper output)
{
    private const int Sockets = 300;

    [Fact]
    public async Task A_program_joins_and_runs_Pi_while_300_silent_connections_are_reopened_as_fast_as_they_are_closed()
    {
        using var cluster = TestCluster.Create();
        using var vm = await VmProcess.StartAsync(cluster);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var connects = 0;

        async Task Hold()
        {
            var buffer = new byte[16];
            while (!stop.IsCancellationRequested)
            {
                using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
                {
                    try
                    {
                        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, vm.Port), stop.Token);
                        Interlocked.Increment(ref connects);
                        while (await socket.ReceiveAsync(buffer, stop.Token) > 0)
                        {
                        }
                    }
                    catch (Exception e) when (e is SocketException or OperationCanceledException)
                    {
                        // closed by the VM (reset), or the test is over
                    }
                }
                await Task.Delay(10, CancellationToken.None);
            }
        }

        var linesBefore = vm.StderrLines.Count;
        var flood = Enumerable.Range(0, Sockets).Select(_ => Task.Run(Hold)).ToList();
        ProcessOutput pi;
        var clock = Stopwatch.StartNew();
        try
        {
            // Let the first round be accepted, left silent and closed, so the run meets a flood in full swing.
            await Task.Delay(TimeSpan.FromSeconds(6));
            clock.Restart();
            pi = await ChildProcess.RunSampleAsync("Pi", ["--seeds", vm.Address, .. cluster.Args]);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(flood).WaitAsync(TimeSpan.FromSeconds(30));
        }
        var lines = vm.StderrLines.Count - linesBefore;
        output.WriteLine($"Pi took {clock.Elapsed.TotalSeconds:0.0} s under the flood; {connects} silent connections made; the VM wrote {lines} log lines");

        pi.AssertSucceeded();
        SampleChecks.Pi(pi, vms: 2);
        // Each socket was closed by the VM (no bytes within 5 s) and reopened: more connects than sockets.
        Assert.True(connects > Sockets, $"only {connects} connections: the VM did not close silent ones");
        Assert.Contains(vm.StderrLines, l => l.Contains("no bytes within 5 s", StringComparison.Ordinal));
        // Refusals are logged once per source address every 10 s; before that, a line each.
        Assert.True(lines < 200, $"{lines} log lines during the flood");
        Assert.False(vm.HasExited, $"the VM died\n{vm}");
    }
}

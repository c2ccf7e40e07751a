using System.Collections.Concurrent;
using System.Diagnostics;
using River.Tests.Samples;
using Xunit.Abstractions;

namespace River.Tests.Cluster;

/// <summary>A VM process facing malformed input from the network.</summary>
[Collection(ProcessCollection.Name)]
public sealed class WireFuzzTests(ITestOutputHelper output)
{

    private const int Inputs = 10_000;
    private const int Connections = 8;   // at once
    // Generous: a machine loaded far past CI's (a load average of 250) managed 1,758 inputs in 50 s.
    private static readonly TimeSpan FuzzBound = TimeSpan.FromSeconds(150);
    // The VM closes a connection once it has judged the input, and drops a stalled handshake after 5 s.
    private static readonly TimeSpan CloseBound = TimeSpan.FromSeconds(7);

    [Fact]
    public async Task A_VM_survives_10000_malformed_inputs_refusing_them_and_then_runs_Pi()
    {
        using var cluster = TestCluster.Create();
        using var vm = await VmProcess.StartAsync(cluster, null, "--log-level", "Debug");
        var options = cluster.Options();
        byte[] transcript;
        using (var first = await WireClient.ConnectAsync(vm.Port, default)) transcript = first.Authenticate(options);

        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var inputs = new MalformedInputs(seed, transcript, options.MaxFrameSize);
        var kinds = new ConcurrentDictionary<string, int>();
        var leftOpen = new ConcurrentDictionary<string, int>();
        var next = 0;
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource(FuzzBound);

        async Task Throw()
        {
            while (!stop.IsCancellationRequested && !vm.HasExited)
            {
                MalformedInput input;
                lock (inputs)
                {
                    if (next >= Inputs) return;
                    next++;
                    input = inputs.Next();
                }
                WireClient client;
                try
                {
                    client = await WireClient.ConnectAsync(vm.Port, stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or System.Net.Sockets.SocketException)
                {
                    return; // out of time, or the VM is gone: the asserts below say which
                }
                using (client)
                {
                    try
                    {
                        if (input.AfterHandshake) client.Authenticate(options);
                        if (input.Unsealed) await client.SendRawAsync(input.Bytes, stop.Token);
                        else await client.SendAsync(input.Bytes, stop.Token);
                    }
                    catch (IOException)
                    {
                        // the VM closed while we wrote: it refused early
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                    kinds.AddOrUpdate(input.Kind, 1, (_, n) => n + 1);
                    if (!await client.FinishAsync(CloseBound)) leftOpen.AddOrUpdate(input.Kind, 1, (_, n) => n + 1);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Connections).Select(_ => Task.Run(Throw)));
        var thrown = kinds.Values.Sum();
        output.WriteLine($"{thrown} inputs in {clock.Elapsed.TotalSeconds:0.0} s: {string.Join(", ", kinds.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value}"))}");
        if (!leftOpen.IsEmpty)
            output.WriteLine($"connections the VM left open for {CloseBound.TotalSeconds} s (see the skipped known-bug test): {string.Join(", ", leftOpen.Select(k => $"{k.Key} {k.Value}"))}");

        Assert.False(vm.HasExited, $"the VM died\n{vm}");
        Assert.True(thrown >= Inputs, $"only {thrown} inputs within {FuzzBound}");

        // Still a working VM: only itself in status (no half-authenticated peer became a member), and Pi runs on it.
        Assert.Equal([vm.Id], (await RiverCli.StatusAsync(cluster, vm.Address)).Ids());
        var pi = await ChildProcess.RunSampleAsync("Pi", ["--seeds", vm.Address, .. cluster.Args]);
        pi.AssertSucceeded();
        SampleChecks.Pi(pi, vms: 2);

        // It said what it refused and why.
        var log = vm.StderrLines;
        int Count(string text) => log.Count(l => l.Contains(text, StringComparison.Ordinal));
        // Refusals are logged once per source and interval (LogThrottleTests checks the counts they carry).
        output.WriteLine($"log: {log.Count} lines, {Count("Refused connection")} lines of refused connections, {Count("Dropped a frame")} dropped frames, {Count("allow-list")} allow-list refusals, {Count("closed: a frame length of")} out-of-range lengths, {Count("failed authentication")} unauthenticated records");
        Assert.InRange(Count("Refused connection"), 1, 20);
        Assert.True(Count("failed authentication") > 100, "records without a valid MAC close their connection with a warning");
        Assert.Contains(log, l => l.Contains("Dropped a frame", StringComparison.Ordinal));
        Assert.Contains(log, l => l.Contains("System.Diagnostics.Process' is not on this cluster's allow-list", StringComparison.Ordinal));
        Assert.Contains(log, l => l.Contains("closed: a frame length of", StringComparison.Ordinal));
    }
}

using System.Diagnostics;
using System.Text.RegularExpressions;
using River.Tests.Cluster;
using River.Tests.Security;
using Xunit.Abstractions;

namespace River.Tests.Delivery;

/// <summary>
/// A stream of numbered packets (samples/Stream) to a sink VR on a <c>river vm</c> process, while that VM is
/// paused or its connection is cut: within the grace period nothing is lost, repeated or reordered; past it,
/// the sender is told how many packets were lost and the returning VM is fenced (its VRs end; it rejoins as a new VM).
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed partial class PauseAndCutTests(ITestOutputHelper output) : ProcessTest
{
    private static readonly TimeSpan RunBound = TimeSpan.FromSeconds(120);

    [GeneratedRegex(@"^received (?<got>\d+) of (?<sent>\d+), gaps (?<gaps>\d+), duplicates (?<dups>\d+)")]
    private static partial Regex Report();

    private static void AssertWhole(ProcessOutput run, int count)
    {
        run.AssertSucceeded();
        var report = run.Lines.Select(l => Report().Match(l)).FirstOrDefault(m => m.Success) ?? throw new Xunit.Sdk.XunitException($"no report\n{run}");
        Assert.Equal((count.ToString(), count.ToString(), "0", "0"), (report.Groups["got"].Value, report.Groups["sent"].Value, report.Groups["gaps"].Value, report.Groups["dups"].Value));
    }

    [Fact]
    public async Task A_stream_loses_nothing_while_the_sinks_VM_is_stopped_for_10_s()
    {
        using var sink = await VmProcess.StartAsync(_cluster, null, "--attr", "role=sink");
        const int count = 300_000;
        using var stream = ChildProcess.Sample("Stream", ["--seeds", sink.Address, .. _cluster.Args, "--count", $"{count}", "--pause-every", "100"]);
        await sink.WaitForLogAsync("Deployed NumberedStream", RunBound);
        await Task.Delay(500);
        sink.Pause();
        await Task.Delay(TimeSpan.FromSeconds(10));
        var resumed = Stopwatch.StartNew();
        sink.Resume();
        var run = await stream.WaitAsync(RunBound);
        output.WriteLine($"the stream ended {resumed.Elapsed.TotalSeconds:0.0} s after SIGCONT\n{run.Stdout}");
        AssertWhole(run, count);
        Assert.False(sink.HasExited);
        // The program acknowledged what it received before its goodbye: nothing counts as lost.
        await sink.WaitForLogAsync("left: it said goodbye", TimeSpan.FromSeconds(10));
        Assert.DoesNotContain(sink.StderrLines, l => l.Contains("were on their way", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_stream_whose_connection_is_cut_resumes_on_a_new_one_and_loses_nothing()
    {
        using var sink = await VmProcess.StartAsync(_cluster, null, "--attr", "role=sink");
        using var relay = new Relay(sink.Port);
        const int count = 300_000;
        // The program reaches the sink's VM through the relay (its seed); cutting it ends that connection mid-stream.
        using var stream = ChildProcess.Sample("Stream", ["--seeds", relay.Address, .. _cluster.Args, "--count", $"{count}", "--pause-every", "100"]);
        await sink.WaitForLogAsync("Deployed NumberedStream", RunBound);
        await Task.Delay(500);
        var cut = relay.Connections.Single();
        cut.Cut();
        await cut.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        var run = await stream.WaitAsync(RunBound);
        output.WriteLine(run.Stdout);
        AssertWhole(run, count);
        Assert.Single(relay.Connections); // the program re-dialed the sink's VM where it listens, not the seed
    }

    [Fact]
    public async Task Past_the_grace_period_the_sender_is_told_what_was_lost_and_the_returning_VM_is_fenced()
    {
        // Short enough for a test, long enough that a loaded machine's stalls are not taken for a gone VM.
        string[] grace = ["--grace-period", "5"];
        using var host = await VmProcess.StartAsync(_cluster, null, grace);
        using var sink = await VmProcess.StartAsync(_cluster, [host], ["--attr", "role=sink", .. grace]);
        using var relay = new Relay(sink.Port);
        // The program reaches the sink's VM through the relay (its seed), so the test can lose what it sends there.
        using var stream = ChildProcess.Sample("Stream", ["--seeds", relay.Address, .. _cluster.Args, .. grace, "--count", "100000000"]);
        await sink.WaitForLogAsync("Deployed NumberedStream", RunBound);
        var link = await relay.LiveAsync(records: 2, RunBound);
        // Packets in flight, for certain: from here on the path to the sink drops what the program sends, and the sink's
        // acknowledgements stop at what it had. Had the program been waiting for queue credit with everything acknowledged
        // (a slow sink), the sink still takes what is queued and returns credit, so more packets go out and are dropped.
        link.ToAcceptor.Blackhole();
        await Condition.Until(() => link.ToAcceptor.BlackholedBytes >= 256 * 1024, RunBound, "packets sent into the blackhole");
        sink.Pause();
        var run = await stream.WaitAsync(TimeSpan.FromSeconds(60));
        output.WriteLine($"{run}");
        Assert.NotEqual(0, run.ExitCode);
        var lost = Regex.Match(run.Stderr, @"the sink's VM is gone: (\d+) packets in flight were lost");
        Assert.True(lost.Success, $"the sender was not told\n{run}");
        // Every packet the relay dropped was in flight (about 1 KiB each, at most 2 KiB with framing), and perhaps some before.
        Assert.InRange(int.Parse(lost.Groups[1].Value), link.ToAcceptor.BlackholedBytes / 2048, int.MaxValue);
        await host.WaitForLogAsync($"VM {sink.Id} left: nothing heard for 5 s", TimeSpan.FromSeconds(20));

        sink.Resume();
        var fenced = await sink.WaitForLogAsync("This VM was declared gone by the cluster", TimeSpan.FromSeconds(30));
        Assert.Matches(@"its [1-9]\d* VRs are ended", fenced); // the sink VR, at least: no stale copy goes on
        // river vm starts a new VM in its place, which the cluster takes in; the old id stays out.
        await RiverCli.StatusUntilAsync(_cluster, host.Address, s => s.Count == 2 && s.All(vm => vm.Id != sink.Id), TimeSpan.FromSeconds(30), "the host and the sink's new VM");
    }
}

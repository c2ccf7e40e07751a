using River.Tests.Cluster;
using Xunit.Abstractions;

namespace River.Tests.Delivery;

/// <summary>
/// The network between two "hosts" (network namespaces on one bridge) is cut for 10 s in the middle of a
/// stream of 300,000 numbered packets (samples/Stream on one host, a sink VR on a <c>river vm</c> on the other):
/// within the grace period the VMs only suspect each other, their link resumes, and nothing is lost, repeated
/// or reordered. Runs tests/netns/cut.sh, which needs root and iproute2. Where it cannot run, the test passes
/// and its output starts with "SKIPPED:" and the reason (xunit 2 has no skipping decided at run time).
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class NetworkCutTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(200);

    [Fact]
    public async Task A_10_s_network_cut_between_two_hosts_mid_stream_loses_repeats_and_reorders_nothing__or_SKIPPED_without_root_and_netns()
    {
        var script = Path.Combine(Built.Root, "tests", "netns", "cut.sh");
        if (!OperatingSystem.IsLinux() || !File.Exists("/bin/bash"))
        {
            output.WriteLine("SKIPPED: network namespaces need Linux and bash");
            return;
        }
        var prefix = "rvc" + Guid.NewGuid().ToString("N")[..6];
        using var run = ChildProcess.Start("/bin/bash", [script, Built.RiverCli, Built.Sample("Stream"), prefix]);
        ProcessOutput result;
        try
        {
            result = await run.WaitAsync(Bound);
        }
        finally
        {
            // The script cleans up in a trap; should it have been killed before, remove what it left.
            await run.StopAsync(TimeSpan.FromSeconds(5));
            await MultiHostTests.RemoveNamespacesAsync(prefix);
        }
        output.WriteLine(result.ToString());
        if (result.ExitCode == 77)
        {
            output.WriteLine($"SKIPPED: {result.Stdout.Trim()}");
            return;
        }
        result.AssertSucceeded();
        Assert.Contains("PASS: a 10 s network cut mid-stream lost, repeated and reordered nothing: received 300000 of 300000, gaps 0, duplicates 0", result.Stdout);
    }
}

using River.Tests.Cluster;
using Xunit.Abstractions;

namespace River.Tests.Monitoring;

/// <summary>
/// A network cut between two "hosts" (network namespaces) reaches a link as <c>lost</c> on both sides within
/// 5 s: the Linked sample's initiator on one host hears its worker on the other lost, and the worker fails of
/// its link. Runs tests/netns/monitor-cut.sh, which needs root and iproute2; where it cannot run, the test
/// passes and its output starts with "SKIPPED:" and the reason.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class MonitorCutTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_network_cut_reaches_both_sides_of_a_link_as_lost_within_5_s__or_SKIPPED_without_root_and_netns()
    {
        var result = await NetnsScript.RunAsync(output, "monitor-cut.sh", "rmc", Built.Sample("Linked"), TimeSpan.FromSeconds(120));
        if (result is null) return; // SKIPPED, as the output says
        Assert.Contains(result.Lines, l => l.Contains("PASS: a network cut reached the linked initiator as lost in ", StringComparison.Ordinal));
    }
}

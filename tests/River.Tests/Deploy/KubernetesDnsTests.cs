using River.Tests.Cluster;
using Xunit.Abstractions;

namespace River.Tests.Deploy;

/// <summary>
/// What deploy/k8s relies on at run time: tests/netns/k8s-dns.sh runs VMs with the StatefulSet's environment
/// in network namespaces and a real DNS server (dnsmasq) answering the headless Service's name, and Pi with
/// the Job's environment. It needs root; where it cannot run, the test passes and its output starts with
/// "SKIPPED:" and the reason.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class KubernetesDnsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task VMs_with_the_StatefulSets_environment_form_a_cluster_through_the_headless_Services_DNS_name__or_SKIPPED_without_root()
    {
        var result = await NetnsScript.RunAsync(output, "k8s-dns.sh", "rkd", Built.Sample("Pi"), TimeSpan.FromMinutes(3));
        if (result is null) return; // SKIPPED, as the output says
        Assert.Contains("PASS: 3 VM pods formed a cluster through the DNS name river-vm", result.Stdout);
        Assert.Contains("samples: 800000, workers: 4", result.Stdout);
    }
}

using System.Globalization;
using System.Text.RegularExpressions;
using River.Tests.Cluster;

namespace River.Tests.Diagnostics;

/// <summary>A live <c>river vm --metrics-port</c> is scraped as Prometheus does it, before and after a program runs on it.</summary>
[Collection(ProcessCollection.Name)]
public sealed partial class MetricsTests : ProcessTest
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    [Fact]
    public async Task ScrapedCountersMoveWhenAProgramRuns()
    {
        var port = Loopback.FreePort();
        var vm = await VmProcess.StartAsync(_cluster, null, "--metrics-port", port.ToString(CultureInfo.InvariantCulture));
        _vms.Add(vm);
        _vms.Add(await VmProcess.StartAsync(_cluster, [vm]));
        var url = $"http://127.0.0.1:{port}/metrics";

        var before = await ScrapeAsync(url);
        Assert.DoesNotContain("river_deploys_total{", before);   // nothing deployed yet: the counter has no sample

        var pi = await ChildProcess.RunSampleAsync("Pi", ["--seeds", vm.Address, .. _cluster.Args]);
        pi.AssertSucceeded();

        var after = await ScrapeAsync(url);
        Assert.True(Value(after, "river_packets_received_total", vm.Id) > Value(before, "river_packets_received_total", vm.Id), after);
        Assert.True(Value(after, "river_packets_sent_total", vm.Id) > Value(before, "river_packets_sent_total", vm.Id), after);
        Assert.True(Value(after, "river_deploys_total", vm.Id) >= 1, after);   // Pi deploys a worker on every VM
        // The program's link and its series are gone once it exits; the other river vm's link stays, and its frames may not
        // have moved (a worker shorter than the 200 ms between VR-count announcements sends it nothing), its heartbeats have.
        Assert.True(Value(after, "river_link_received_all_bytes_total", vm.Id) > Value(before, "river_link_received_all_bytes_total", vm.Id), after);
        Assert.True(Value(after, "river_link_received_bytes_total", vm.Id) >= Value(before, "river_link_received_bytes_total", vm.Id), after);
        Assert.True(Value(after, "river_links", vm.Id, "state=\"connected\"") >= 1, after);   // the other river vm
        Assert.Equal(0, Value(after, "river_vrs", vm.Id));   // the program's VRs ended with it
    }

    private static async Task<string> ScrapeAsync(string url)
    {
        var text = await Http.GetStringAsync(url);
        Assert.Contains("# TYPE river_packets_received_total counter", text);
        return text;
    }

    /// <summary>The sum of a metric's samples for one VM (and an extra label, when given): links have one sample per peer.</summary>
    private static double Value(string scrape, string metric, string vm, string? label = null)
    {
        var samples = Sample().Matches(scrape)
            .Where(m => m.Groups["name"].Value == metric && m.Groups["labels"].Value.Contains($"vm=\"{vm}\"", StringComparison.Ordinal))
            .Where(m => label is null || m.Groups["labels"].Value.Contains(label, StringComparison.Ordinal))
            .Select(m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture))
            .ToList();
        Assert.True(samples.Count > 0, $"no sample of {metric} for VM {vm} in:\n{scrape}");
        return samples.Sum();
    }

    [GeneratedRegex(@"^(?<name>[a-z_]+)\{(?<labels>[^}]*)\} (?<value>[0-9.eE+-]+)", RegexOptions.Multiline)]
    private static partial Regex Sample();
}

using System.Net.Http.Json;
using System.Text.RegularExpressions;
using River.Tests.Cluster;

namespace River.Tests.Samples;

/// <summary>
/// The WebFarm sample (River inside an ASP.NET Core app through <c>AddRiver</c>) answers real HTTP requests
/// with VRs: embedded, and joined to a cluster of <c>river vm</c> processes that run its workers.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed partial class WebFarmTests : ProcessTest
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private sealed record Answer(int Upto, int Primes, string Vm);

    [Fact]
    public async Task EmbeddedRequestsAreCountedByVrsOnEveryVm()
    {
        var vms = await AskAsync(["--River:Vms", "3"], requests: 12);
        Assert.Equal(3, vms.Count);   // the pool has one counter per VM and takes them in turn
    }

    [Fact]
    public async Task JoinedToRiverVmProcessesTheirVrsCountTheRequests()
    {
        _vms.AddRange(await VmProcess.StartManyAsync(_cluster, 2));
        var vms = await AskAsync(["--River:Seeds:0", _vms[0].Address, "--River:Cluster", _cluster.Name, "--River:KeyFile", _cluster.KeyFile], requests: 9);
        Assert.Superset(_vms.Select(v => v.Id).ToHashSet(), vms.ToHashSet());   // counters ran in the river vm processes (code shipped)
    }

    /// <summary>Starts the app on a free port, asks it concurrently for prime counts, checks every answer; returns the VMs that answered.</summary>
    private static async Task<IReadOnlySet<string>> AskAsync(string[] args, int requests)
    {
        using var app = ChildProcess.Sample("WebFarm", ["--urls", "http://127.0.0.1:0", .. args]);
        var listening = await app.WaitForStdoutAsync(l => Listening().IsMatch(l), TimeSpan.FromSeconds(60));
        var url = Listening().Match(listening).Groups["url"].Value;
        int[] bounds = [.. Enumerable.Range(0, requests).Select(i => 100 + 50 * i)];
        var answers = await Task.WhenAll(bounds.Select(n => Http.GetFromJsonAsync<Answer>($"{url}/primes/{n}")));
        for (var i = 0; i < requests; i++)
        {
            Assert.Equal(bounds[i], answers[i]!.Upto);
            Assert.Equal(PrimesUpTo(bounds[i]), answers[i]!.Primes);
        }
        return answers.Select(a => a!.Vm).ToHashSet();
    }

    private static int PrimesUpTo(int n)
    {
        var composite = new bool[n + 1];
        var count = 0;
        for (var i = 2; i <= n; i++)
        {
            if (composite[i]) continue;
            count++;
            for (var j = i * i; j <= n; j += i) composite[j] = true;
        }
        return count;
    }

    [GeneratedRegex(@"Now listening on: (?<url>http://127\.0\.0\.1:\d+)")]
    private static partial Regex Listening();
}

using River.Tests.Samples;

namespace River.Tests.Cluster;

/// <summary>Three <c>river vm</c> processes, shared by the sample tests of one class.</summary>
public sealed class ThreeVmProcesses : IAsyncLifetime
{
    public TestCluster Cluster { get; } = TestCluster.Create();

    public IReadOnlyList<VmProcess> Vms { get; private set; } = [];

    public async Task InitializeAsync() => Vms = await VmProcess.StartManyAsync(Cluster, 3);

    public Task DisposeAsync()
    {
        Vms.DisposeAll();
        Cluster.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>
/// Every sample run against three VM processes (<c>--seeds</c>, cluster name and key): the sample's
/// process joins as a fourth VM, so the checks expect four. Besides what it prints, each run must
/// really have put VRs on the VM processes: their logs show the deploys, and Hello's greetings name
/// the VM processes' ports.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class ClusterSampleTests(ThreeVmProcesses cluster) : SampleTestsBase, IClassFixture<ThreeVmProcesses>
{
    private static readonly TimeSpan LogBound = TimeSpan.FromSeconds(5);

    protected override int Vms => cluster.Vms.Count + 1;

    protected override int PingPongRounds => 200;

    protected override async Task<ProcessOutput> RunAsync(string sample, params string[] args)
    {
        var logged = cluster.Vms.Select(vm => vm.StderrLines.Count).ToList();
        var run = await ChildProcess.RunSampleAsync(sample, [.. args, "--seeds", cluster.Vms[0].Address, .. cluster.Cluster.Args]);
        run.AssertSucceeded();

        // PingPong deploys one echo VR (on a VM process: Discover lists the program's own VM first), Stream one sink, Linked one ticker;
        // the others one VR per VM at least (Supervised's workers are PrimeWorkers, Primes' the hosts of Trickle's agents).
        var deployed = $"Deployed {sample switch { "Stream" => "NumberedStream as", "Supervised" => "PrimeWorker as", "Linked" => "Ticker as", "Primes" => "River.RaiHost`1[[River.TrickleAgent`1[[Program, Primes,", _ => sample + " as" }} ";
        var needed = sample is "PingPong" or "Stream" or "Linked" ? 1 : cluster.Vms.Count;
        var deadline = DateTime.UtcNow + LogBound;   // log lines are written asynchronously
        int hosts;
        while ((hosts = cluster.Vms.Where((vm, i) => vm.StderrLines.Skip(logged[i]).Any(l => l.Contains(deployed, StringComparison.Ordinal))).Count()) < needed
               && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.True(hosts >= needed, $"{sample}: {hosts} VM processes logged '{deployed}', expected {needed}\n{string.Join("\n", cluster.Vms)}");

        if (sample == "Hello")
        {
            var greetings = SampleChecks.Hello(run, Vms);
            foreach (var vm in cluster.Vms)
                Assert.Contains(greetings, g => g.EndsWith($"({vm.Address})", StringComparison.Ordinal));
        }
        return run;
    }
}

using System.Diagnostics;
using River.Tests.Cluster;
using Xunit.Abstractions;

namespace River.Tests.Security;

/// <summary>
/// A program given seeds that do not take it in, or that hears of no VM by multicast, stops with exit
/// code 3 and says why, instead of running alone as if it had joined (or waiting forever).
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class FailedJoinTests(ITestOutputHelper output)
{
    // Seeds are retried for about 10 s; the rest is start-up on a loaded machine.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task A_program_whose_seed_nobody_listens_on_exits_3_saying_no_seed_took_it_in()
    {
        using var cluster = TestCluster.Create();
        var seed = $"127.0.0.1:{Loopback.FreePort()}";
        var clock = Stopwatch.StartNew();
        var pi = await ChildProcess.RunSampleAsync("Pi", ["--seeds", seed, .. cluster.Args]);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s\n{pi}");

        Assert.True(pi.ExitCode == 3, $"exit code {pi.ExitCode}\n{pi}");
        Assert.Contains($"river: Could not join cluster '{cluster.Name}': no seed took this VM in ({seed}: ", pi.Stderr);
        Assert.True(clock.Elapsed < Bound, $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task A_program_that_hears_no_VM_by_multicast_within_its_join_timeout_exits_3_saying_so()
    {
        using var cluster = TestCluster.Create(); // a cluster of its own: no VM of it runs anywhere
        var clock = Stopwatch.StartNew();
        var pi = await ChildProcess.RunSampleAsync("Pi", ["--discover", "--join-timeout", "2", .. cluster.Args]);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s\n{pi}");

        Assert.True(pi.ExitCode == 3, $"exit code {pi.ExitCode}\n{pi}");
        Assert.Contains($"river: Could not join cluster '{cluster.Name}': no VM of it was heard by multicast within 2 s.", pi.Stderr);
        Assert.True(clock.Elapsed < Bound, $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task A_program_with_the_wrong_key_exits_3_saying_the_seed_refused_it()
    {
        using var cluster = TestCluster.Create();
        using var vm = await VmProcess.StartAsync(cluster);
        using var wrongKey = cluster.WithWrongKey();
        var clock = Stopwatch.StartNew();
        var pi = await ChildProcess.RunSampleAsync("Pi", ["--seeds", vm.Address, .. wrongKey.Args]);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s\n{pi}");

        Assert.True(pi.ExitCode == 3, $"exit code {pi.ExitCode}\n{pi}");
        Assert.Contains($"river: Could not join cluster '{cluster.Name}': no seed took this VM in ({vm.Address}: refused", pi.Stderr);
        Assert.True(clock.Elapsed < Bound, $"took {clock.Elapsed}");
        Assert.DoesNotContain(vm.StderrLines, l => l.Contains("joined", StringComparison.Ordinal));
    }
}

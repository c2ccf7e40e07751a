using System.Diagnostics;
using River.Tests.Samples;
using Xunit.Abstractions;

namespace River.Tests.Cluster;

/// <summary>
/// What a program joined with <c>--seeds</c> knows when its initiator starts: the VMs its seed listed when it took the
/// program in, each reached or given up on within the join timeout, so the first <c>Discover</c> sees the cluster.
/// A member slow to answer (SIGSTOPped, as under heavy load) stands for the race a busy machine makes likely.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class JoinProcessTests(ITestOutputHelper output) : ProcessTest
{
    private static readonly TimeSpan RunBound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_programs_first_Discover_sees_a_member_of_its_seed_that_answers_late_within_the_join_timeout()
    {
        _vms.AddRange(await VmProcess.StartManyAsync(_cluster, 3));
        var slow = _vms[2];
        // Stopped now, the seed still lists it when the program joins; it answers 8 s later, within the 10 s join timeout.
        slow.Pause();
        var hello = ChildProcess.Sample("Hello", ["--seeds", _vms[0].Address, .. _cluster.Args]);
        _programs.Add(hello);
        await Task.Delay(TimeSpan.FromSeconds(8));
        slow.Resume();
        var run = await hello.WaitAsync(RunBound);
        run.AssertSucceeded();
        SampleChecks.Hello(run, _vms.Count + 1);
    }

    [Fact]
    public async Task A_member_that_never_answers_does_not_hold_a_programs_start_past_the_join_timeout()
    {
        _vms.AddRange(await VmProcess.StartManyAsync(_cluster, 3));
        _vms[2].Pause();
        var watch = Stopwatch.StartNew();
        var run = await ChildProcess.RunSampleAsync("Hello", ["--seeds", _vms[0].Address, "--join-timeout", "3", .. _cluster.Args]);
        output.WriteLine($"Hello ended after {watch.Elapsed.TotalSeconds:0.0} s\n{run}");
        run.AssertSucceeded();
        // The stopped VM is never reached: the program runs on itself and the two that answer.
        SampleChecks.Hello(run, 3);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
    }
}

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
        var options = _cluster.Options();
        options.Seeds.Add(_vms[0].Address);
        options.RequireSeeds = true; // as a program joins (RiverApp)
        // Stopped now, the seed still lists it when this VM joins (it is suspected only after 2 s of silence); it answers
        // 7 s later, past the handshake timeout of a first dial and within the 10 s join timeout.
        slow.Pause();
        var watch = Stopwatch.StartNew();
        var resume = Task.Delay(TimeSpan.FromSeconds(7)).ContinueWith(_ => slow.Resume(), TaskScheduler.Default);
        await using var local = await RiverVm.JoinAsync(options);
        var joined = watch.Elapsed;
        var found = await local.Spawn(me => Task.FromResult(me.Discover()));
        await resume;
        output.WriteLine($"joined after {joined.TotalSeconds:0.0} s; the first Discover found {found.Count} VMs");
        Assert.Equal(_vms.Select(v => v.Id).Append(local.Id.ToString()).Order(), found.Select(v => v.Id.ToString()).Order());
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

using System.Diagnostics;
using River.Tests.Samples;
using Xunit.Abstractions;

namespace River.Tests.Cluster;

/// <summary>Clusters of <c>river vm</c> processes under failure, intrusion and control from the command line.</summary>
[Collection(ProcessCollection.Name)]
public sealed class ClusterProcessTests(ITestOutputHelper output) : ProcessTest
{
    // FailureTimeout is 2 s and heartbeats every 250 ms: a dead VM is dropped after ~2-2.5 s.
    private static readonly TimeSpan FailureBound = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan RunBound = TimeSpan.FromSeconds(60);

    private ChildProcess StartProgram(string dll, params string[] args)
    {
        var program = ChildProcess.Dotnet(dll, [.. args, "--seeds", _vms[0].Address, .. _cluster.Args]);
        _programs.Add(program);
        return program;
    }

    [Fact]
    public async Task A_SIGKILLed_VM_leaves_status_within_5_s_and_Pi_then_runs_on_the_survivors()
    {
        _vms.AddRange(await VmProcess.StartManyAsync(_cluster, 3));
        // Use the cluster: a long Heat run has a worker on every VM, exchanging halos each step.
        var heat = StartProgram(Built.Sample("Heat"), "--steps", "100000000");
        foreach (var vm in _vms) await vm.WaitForLogAsync("Deployed Heat as ", RunBound);
        var victim = _vms[2];
        var survivors = _vms.Take(2).ToList();

        victim.Kill();
        var killedAt = DateTime.UtcNow;
        await RiverCli.StatusUntilAsync(_cluster, survivors[0].Address,
            s => s.All(vm => vm.Id != victim.Id) && survivors.All(v => s.Any(vm => vm.Id == v.Id)), FailureBound, "the killed VM gone, the survivors listed");
        // Status skips a VM it cannot reach; the survivors' logs show they suspect it too (it leaves Discover;
        // it is declared gone only after the grace period).
        foreach (var vm in survivors) await vm.WaitForLogAsync($"VM {victim.Id} suspected", killedAt + FailureBound - DateTime.UtcNow);
        var detected = DateTime.UtcNow - killedAt;
        // Nothing listens where it did any more: its process is gone, so it is declared gone without waiting out the grace period.
        foreach (var vm in survivors) await vm.WaitForLogAsync($"VM {victim.Id} left: nothing has listened at its address", TimeSpan.FromSeconds(20));
        output.WriteLine($"the survivors dropped the SIGKILLed VM after {detected.TotalSeconds:0.0} s");

        // The Heat run cannot finish without the dead worker; it is ended like a hung job, and must leave too.
        heat.Kill();
        await RiverCli.StatusUntilAsync(_cluster, survivors[0].Address, s => s.Ids().SequenceEqual(survivors.Ids()), FailureBound, "exactly the two survivors");

        var pi = await ChildProcess.RunSampleAsync("Pi", ["--seeds", survivors[1].Address, .. _cluster.Args]);
        pi.AssertSucceeded();
        SampleChecks.Pi(pi, survivors.Count + 1);
        Assert.True(detected < FailureBound, $"took {detected}");
    }

    [Fact]
    public async Task River_run_starts_a_built_program_on_the_cluster()
    {
        _vms.AddRange(await VmProcess.StartManyAsync(_cluster, 2));
        var run = await RiverCli.RunAsync(["run", Built.Sample("Pi"), "--seeds", _vms[0].Address, .. _cluster.Args]);
        run.AssertSucceeded();
        SampleChecks.Pi(run, _vms.Count + 1);
        foreach (var vm in _vms) await vm.WaitForLogAsync("Deployed Pi as ", RunBound);
    }

    [Fact]
    public async Task A_VM_stopped_by_SIGTERM_says_goodbye_and_exits_cleanly()
    {
        _vms.AddRange(await VmProcess.StartManyAsync(_cluster, 2));
        var leaving = _vms[1];
        var stoppedAt = DateTime.UtcNow;
        Assert.Equal(0, await leaving.TerminateAsync(TimeSpan.FromSeconds(10)));
        // Told, not detected: well before the 2 s failure timeout, and with the reason.
        var line = await _vms[0].WaitForLogAsync($"VM {leaving.Id} left: it said goodbye", TimeSpan.FromSeconds(10));
        output.WriteLine(line);
        Assert.True(DateTime.UtcNow - stoppedAt < FailureBound);
        await RiverCli.StatusUntilAsync(_cluster, _vms[0].Address, s => s.Ids().SequenceEqual([_vms[0].Id]), FailureBound, "only the VM still running");
    }

    [Fact]
    public async Task A_VM_with_the_wrong_key_is_refused_by_both_sides_and_never_listed()
    {
        _vms.AddRange(await VmProcess.StartManyAsync(_cluster, 2));
        using var wrongKey = _cluster.WithWrongKey();
        var intruder = await VmProcess.StartAsync(wrongKey, [_vms[0]]);
        _vms.Add(intruder);

        // The intruder dials: it finds the acceptor's proof wrong, says so and the acceptor logs the refusal it got.
        await intruder.WaitForLogAsync("Refused connection", TimeSpan.FromSeconds(10));
        await _vms[0].WaitForLogAsync("Refused connection", TimeSpan.FromSeconds(10));

        var status = await RiverCli.StatusAsync(_cluster, _vms[0].Address);
        Assert.Equal(_vms.Take(2).Ids(), status.Ids());
        // The intruder, asked with its own key, knows only itself.
        Assert.Equal([intruder.Id], (await RiverCli.StatusAsync(wrongKey, intruder.Address)).Ids());
        // And status with the wrong key gets nothing from the good VMs.
        var refused = await RiverCli.RunAsync(["status", "--json", "--seeds", _vms[0].Address, .. wrongKey.Args]);
        Assert.NotEqual(0, refused.ExitCode);
    }

    [Fact]
    public async Task River_kill_of_a_VR_from_status_removes_it_from_status()
    {
        _vms.AddRange(await VmProcess.StartManyAsync(_cluster, 2));
        // VersionProbe leaves a worker holding on each VM process after its initiator is done.
        var hold = Path.Combine(_cluster.Directory, "release");
        var probe = StartProgram(Built.Dll("tests/Fixtures/VersionProbe", "VersionProbe", "v1"), "--hold-file", hold, "--hold-seconds", "60");
        (await probe.WaitAsync(RunBound)).AssertSucceeded();
        var before = await RiverCli.StatusUntilAsync(_cluster, _vms[0].Address,
            s => s.Sum(vm => vm.Vrs.Count(v => v.Type == "VersionProbe")) == 2, TimeSpan.FromSeconds(5), "two held probe VRs");
        var target = before.SelectMany(vm => vm.Vrs).First(v => v.Type == "VersionProbe");

        var kill = await RiverCli.RunAsync(["kill", target.Id, "--seeds", _vms[0].Address, .. _cluster.Args]);
        kill.AssertSucceeded();
        Assert.StartsWith($"killed {target.Id} on VM ", kill.Stdout);

        var after = await RiverCli.StatusUntilAsync(_cluster, _vms[0].Address,
            s => s.All(vm => vm.Vrs.All(v => v.Id != target.Id)), TimeSpan.FromSeconds(5), "the killed VR gone");
        Assert.Single(after.SelectMany(vm => vm.Vrs), v => v.Type == "VersionProbe"); // the other one still holds
        // Killing it again finds nothing.
        Assert.Equal(1, (await RiverCli.RunAsync(["kill", target.Id, "--seeds", _vms[0].Address, .. _cluster.Args])).ExitCode);
        File.WriteAllText(hold, "");
    }

    // What a program joined with --seeds knows when its initiator starts: the VMs its seed listed when it took the program
    // in, each reached or given up on within the join timeout, so the first Discover sees the cluster. A member slow to
    // answer (SIGSTOPped, as under heavy load) stands for the race a busy machine makes likely.
    [Fact]
    public async Task A_programs_first_Discover_sees_a_member_of_its_seed_that_answers_late_within_the_join_timeout()
    {
        _vms.AddRange(await VmProcess.StartManyAsync(_cluster, 3));
        var slow = _vms[2];
        var options = _cluster.Options();
        options.Seeds.Add(_vms[0].Address);
        options.RequireSeeds = true; // as a program joins (RiverApp)
        options.JoinTimeout = TimeSpan.FromSeconds(20); // room for a loaded machine: the join ends when the VM answers, not at the timeout
        // Stopped now, the seed still lists it when this VM joins (it is suspected only after 2 s of silence); it answers
        // 7 s later, past the handshake timeout of a first dial (5 s).
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

using System.Diagnostics;
using River.Tests.Cluster;
using River.Tests.Links;
using Xunit.Abstractions;

namespace River.Tests.Monitoring;

/// <summary>
/// Monitors, links and supervision across real <c>river vm</c> processes (the test's own VM joins them):
/// every reason, and <c>lost</c> soon after a VM's SIGKILL or SIGSTOP, seen by monitors and links on other processes.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class MonitorProcessTests(ITestOutputHelper output) : ProcessTest
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    // Suspected after 2 s of silence (heartbeats every 250 ms); the rest is slack for a loaded machine.
    private static readonly TimeSpan LostBound = TimeSpan.FromSeconds(5);

    private async Task<RiverVm> JoinAsync(int processes)
    {
        _vms.AddRange(await VmProcess.StartManyAsync(_cluster, processes));
        var options = _cluster.Options();
        options.Seeds.Add(_vms[0].Address);
        return await RiverVm.JoinAsync(options);
    }

    /// <summary>The VM of process <paramref name="process"/>, as <paramref name="me"/> discovers it.</summary>
    private static VmInfo On(VirtualResource me, VmProcess process)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (true)
        {
            var found = me.Discover().FirstOrDefault(v => v.Id.ToString() == process.Id);
            if (found is not null) return found;
            Assert.True(DateTime.UtcNow < deadline, $"{process} not discovered");
            Thread.Sleep(50);
        }
    }

    /// <summary>Has <paramref name="watcher"/> monitor each of <paramref name="targets"/>, and returns once it did.</summary>
    private static void MonitorFrom(VirtualResource me, VrId watcher, params VrId[] targets)
    {
        foreach (var vr in targets) me.Send(watcher, new { tag = "monitor", vr });
        me.Send(watcher, new { tag = "ping" });
        me.Recv(new { tag = "pong", src = watcher }, Bound);
    }

    [Fact]
    public async Task Every_reason_reaches_monitors_and_links_across_three_river_vm_processes_lost_soon_after_a_SIGKILL()
    {
        await using var local = await JoinAsync(3);
        await Probe.Run(local, me =>
        {
            var (a, b, c) = (On(me, _vms[0]), On(me, _vms[1]), On(me, _vms[2]));
            var watcher = Linked.Start(me, a);
            var (ends, fails, doomed, nobody) = (Linked.Start(me, b), Linked.Start(me, c), Linked.Start(me, b), VrId.New());
            var linked = Linked.Start(me, a, doomed);
            var trapping = Linked.Start(me, c, doomed, trap: true);
            MonitorFrom(me, watcher, ends, fails, nobody, doomed);
            me.Send(ends, new { tag = "end" });
            me.Send(fails, new { tag = "fail" });
            Assert.Equal((ends, "normal", null), Linked.Heard(me, watcher, "down", ends));
            Assert.Equal((fails, "failed", "System.InvalidOperationException: boom"), Linked.Heard(me, watcher, "down", fails));
            Assert.Equal((nobody, "noproc", null), Linked.Heard(me, watcher, "down", nobody));

            _vms[1].Kill();
            var killed = Stopwatch.StartNew();
            Assert.Equal((doomed, "lost", null), Linked.Heard(me, watcher, "down", doomed));
            var lost = killed.Elapsed;
            Assert.Equal((doomed, "lost", null), Linked.Heard(me, linked, "caught"));
            Assert.Equal((doomed, "lost", null), Linked.Heard(me, trapping, "exit"));
            output.WriteLine($"lost {lost.TotalSeconds:0.00} s after SIGKILL; the link error and the trapped exit {killed.Elapsed.TotalSeconds:0.00} s");
            Assert.True(lost < LostBound, $"lost {lost} after SIGKILL");
        }).WaitAsync(2 * Bound);
    }

    [Fact]
    public async Task A_SIGSTOPped_VMs_VR_is_lost_soon_and_once_it_runs_again_a_new_monitor_sees_it_alive()
    {
        await using var local = await JoinAsync(2);
        await Probe.Run(local, me =>
        {
            var watcher = Linked.Start(me, On(me, _vms[0]));
            var paused = On(me, _vms[1]);
            var target = Linked.Start(me, paused);
            var trapping = Linked.Start(me, On(me, _vms[0]), target, trap: true);
            MonitorFrom(me, watcher, target);

            _vms[1].Pause();
            var stopped = Stopwatch.StartNew();
            Assert.Equal((target, "lost", null), Linked.Heard(me, watcher, "down", target));
            var lost = stopped.Elapsed;
            Assert.Equal((target, "lost", null), Linked.Heard(me, trapping, "exit"));
            output.WriteLine($"lost {lost.TotalSeconds:0.00} s after SIGSTOP");
            Assert.True(lost < LostBound, $"lost {lost} after SIGSTOP");

            // Back within the grace period: the VR was alive all along. The first monitor is spent; a new one sees the truth.
            _vms[1].Resume();
            var deadline = DateTime.UtcNow + Bound;
            while (me.Discover().All(v => v.Id != paused.Id)) // heard again: listed by Discover once more
            {
                Assert.True(DateTime.UtcNow < deadline, "the resumed VM was not heard again");
                Thread.Sleep(50);
            }
            MonitorFrom(me, watcher, target);
            me.Send(target, new { tag = "end" });
            Assert.Equal((target, "normal", null), Linked.Heard(me, watcher, "down", target));
            Assert.False(me.TryRecv(new { tag = "down", vr = target }, out _), "one packet per monitor");
        }).WaitAsync(2 * Bound);
    }

    [Fact]
    public async Task A_supervised_child_whose_VM_is_SIGKILLed_is_restarted_on_a_surviving_VM()
    {
        await using var local = await JoinAsync(2);
        await Probe.Run(local, me =>
        {
            var victim = On(me, _vms[1]);
            On(me, _vms[0]);
            // Three waiting children, one per VM in turn (this one and both processes).
            bool[][] children = [[false, false, true], [false, false, true], [false, false, true]];
            me.Deploy<SupervisorTests.TestSupervisor>(me.Vm, me.Id, (int)RestartStrategy.OneForOne, children);
            var starts = Enumerable.Range(0, 3).Select(_ => me.Recv(new { tag = "started" }, Bound)).ToList();
            var doomed = starts.Single(p => p.Get<VmId>("vm") == victim.Id).Get<int>("index");

            _vms[1].Kill();
            var again = me.Recv(new { tag = "started", index = doomed }, Bound);
            Assert.Equal(1, again.Get<int>("restarts"));
            Assert.NotEqual(victim.Id, again.Get<VmId>("vm"));
            Assert.False(me.TryRecv(new { tag = "started" }, out _), "only the lost child restarts");
        }).WaitAsync(2 * Bound);
    }
}

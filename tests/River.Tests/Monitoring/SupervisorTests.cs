namespace River.Tests.Monitoring;

/// <summary>Supervisors on links: which children restart, when the supervisor gives up, and that its children do not outlive it.</summary>
public sealed class SupervisorTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>Tells the test VR it started (index, restarts); fails on its first run when told to; then waits to be stopped or returns.</summary>
    public sealed class Child : VirtualResource
    {
        protected override void Main()
        {
            var (observer, index, failFirst, failAlways, wait, restarts) =
                ((VrId)DeployArgs[0]!, (int)DeployArgs[1]!, (bool)DeployArgs[2]!, (bool)DeployArgs[3]!, (bool)DeployArgs[4]!, (int)DeployArgs[5]!);
            Send(observer, new { tag = "started", index, restarts, vm = Vm.Id });
            if (failAlways || (failFirst && restarts == 0)) throw new InvalidOperationException($"child {index} fails");
            if (wait) Recv(new { tag = "stop" });
        }
    }

    /// <summary>DeployArgs: observer, strategy (0 one-for-one, 1 one-for-all), then per child: fail first, fail always, wait.</summary>
    public sealed class TestSupervisor : Supervisor
    {
        protected override RestartStrategy Strategy => (RestartStrategy)(int)DeployArgs[1]!;

        protected override IEnumerable<ChildSpec> Children()
        {
            var specs = (bool[][])DeployArgs[2]!;
            return specs.Select((s, i) => new ChildSpec(typeof(Child), DeployArgs[0], i, s[0], s[1], s[2]));
        }
    }

    private static List<(int Index, int Restarts)> Starts(Probe me, int count) =>
        [.. Enumerable.Range(0, count).Select(_ => me.Recv(new { tag = "started" }, Bound)).Select(p => (p.Get<int>("index"), p.Get<int>("restarts")))];

    /// <summary>Runs <paramref name="body"/> in a test VR on a 2-VM cluster, given a supervisor of <paramref name="children"/> it deployed on its own VM.</summary>
    private static async Task Supervised(RestartStrategy strategy, bool[][] children, Action<Probe, VrId> body)
    {
        await using var cluster = new LocalCluster(2);
        await Probe.Run(cluster.Vms[0], me => body(me, me.Deploy<TestSupervisor>(me.Vm, me.Id, (int)strategy, children))).WaitAsync(Bound);
    }

    [Fact]
    public Task One_for_all_restarts_the_siblings_of_a_child_that_fails() => Supervised(RestartStrategy.OneForAll, [[true, false, false], [false, false, true]], (me, supervisor) =>
    {
        me.Monitor(supervisor);
        // Both start; child 0 fails; both start again (child 1 was killed for it); child 0 then returns.
        var starts = Starts(me, 4);
        Assert.Equal([(0, 0), (0, 1), (1, 0), (1, 1)], starts.Order());
        Assert.Null(me.Peek(new { tag = "river.down" })); // child 1 still runs, so the supervisor does too
    });

    [Fact]
    public Task One_for_one_restarts_only_the_child_that_failed() => Supervised(RestartStrategy.OneForOne, [[true, false, false], [false, false, false]], (me, supervisor) =>
    {
        me.Monitor(supervisor);
        Assert.Equal([(0, 0), (0, 1), (1, 0)], Starts(me, 3).Order());
        var down = me.Recv(new { tag = "river.down", src = supervisor }, Bound);
        Assert.Equal("normal", down.Get<string>("reason")); // every child done: the supervisor ends
        Assert.False(me.TryRecv(new { tag = "started" }, out _));
    });

    [Fact]
    public Task A_supervisor_whose_child_keeps_failing_gives_up_after_its_restarts_and_fails() => Supervised(RestartStrategy.OneForOne, [[false, true, false]], (me, supervisor) =>
    {
        me.Monitor(supervisor);
        var down = me.Recv(new { tag = "river.down", src = supervisor }, Bound);
        Assert.Equal("failed", down.Get<string>("reason"));
        Assert.StartsWith("River.SupervisorGaveUpException: 4 restarts within 5 s; the last: child 0 (Child) failed", down.Get<string>("error"));
        Assert.Equal(4, Starts(me, 4).Count); // the first run and 3 restarts
    });

    [Fact]
    public Task A_supervisor_that_gives_up_takes_its_children_still_running_with_it() => Supervised(RestartStrategy.OneForOne, [[false, true, false], [false, false, true]], (me, supervisor) =>
    {
        var waiting = me.Recv(new { tag = "started", index = 1 }, Bound).Src;
        me.Monitor(waiting);
        var down = me.Recv(new { tag = "river.down", src = waiting }, Bound);
        Assert.Equal("failed", down.Get<string>("reason"));
        Assert.StartsWith($"River.LinkedVrFailedException: Linked VR {supervisor} failed: River.SupervisorGaveUpException: ", down.Get<string>("error"));
    });
}

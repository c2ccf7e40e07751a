namespace River.Tests.Dashboard;

/// <summary>What <see cref="RiverVm.Status"/> and <see cref="ClusterStatus"/> report, without processes.</summary>
public sealed class VmStatusTests
{
    [Fact]
    public async Task Status_lists_each_VR_with_its_queue_the_members_and_a_failed_VR()
    {
        await using var cluster = new LocalCluster(2);
        var (vm, other) = (cluster.Vms[0], cluster.Vms[1]);
        var failed = new TaskCompletionSource<VrId>(TaskCreationOptions.RunContinuationsAsynchronously);
        other.VrEnded += (_, e) =>
        {
            if (e.Error is not null) failed.TrySetResult(e.Id);
        };
        VrId idle = default, failing = default;
        VmStatus? status = null;
        await Probe.Run(vm, me =>
        {
            idle = me.Deploy<DashboardTests.Idle>(vm.Info);
            me.Send(idle, new { tag = "later", i = 1 });
            me.Send(idle, new { tag = "later", i = 2 });   // a local send is queued when Send returns
            status = vm.Status();
            failing = me.Deploy<DashboardTests.Failing>(other.Info);
        }).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, status!.Vrs.Single(v => v.Id == idle).Queued);
        Assert.EndsWith("DashboardTests+Idle", status.Vrs.Single(v => v.Id == idle).Type, StringComparison.Ordinal);
        Assert.Equal([other.Id], status.Members.Select(m => m.Id));
        Assert.Empty(status.Links);   // embedded VMs have no network links
        Assert.Equal(failing, await failed.Task.WaitAsync(TimeSpan.FromSeconds(30)));
        var report = Assert.Single(other.Status().Failures);
        Assert.Equal((FailureKind.VrFailed, failing.ToString()), (report.Kind, report.Subject));
        Assert.Contains("failed on purpose", report.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Collect_reports_addresses_that_do_not_answer_and_returns_what_answered()
    {
        var unreachable = new List<(string Address, string Message)>();
        var found = ClusterStatus.Collect(["127.0.0.1:1", "not-an-address"], new ClusterOptions(), (address, e) =>
        {
            lock (unreachable) unreachable.Add((address, e.Message));
        });
        Assert.Empty(found);
        Assert.Equal(["127.0.0.1:1", "not-an-address"], unreachable.Select(u => u.Address).Order(StringComparer.Ordinal));
        Assert.All(unreachable, u => Assert.StartsWith($"{u.Address}: ", u.Message, StringComparison.Ordinal)); // a tool prints the message alone
    }
}

namespace River.Tests.Cluster;

/// <summary>When a joining VM may say it knows the cluster: the rule <c>RiverVm.JoinAsync</c> waits on.</summary>
public class MembershipTests
{
    private static VmInfo Vm() => new(VmId.New(), "127.0.0.1", 7700, new Dictionary<string, object?>());

    [Fact]
    public async Task A_VM_heard_of_settles_only_once_it_is_a_member_and_has_sent_its_member_list()
    {
        var membership = new Membership();
        Assert.True(membership.Settled); // the first VM of a cluster has no one to wait for

        var seed = Vm();
        membership.HeardOf(seed.Id);
        Assert.False(membership.Settled);

        // The seed's Announce makes it a member; its list of the others comes a round trip later, and on a busy
        // machine after any quiet period: until then the joining VM would see only part of the cluster.
        membership.Upsert(seed, null);
        Assert.False(membership.Settled);

        var listed = membership.Changed;
        membership.Listed(seed.Id);
        await listed.WaitAsync(TimeSpan.FromSeconds(10)); // wakes the join's wait
        Assert.True(membership.Settled);

        // The list names another VM: the join waits for it in turn.
        var other = Vm();
        membership.HeardOf(other.Id);
        Assert.False(membership.Settled);
        membership.Upsert(other, null);
        Assert.False(membership.Settled);
        membership.Listed(other.Id);
        Assert.True(membership.Settled);
    }
}

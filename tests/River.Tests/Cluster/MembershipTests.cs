namespace River.Tests.Cluster;

/// <summary>When a joining VM may say it knows the cluster: the rule <c>RiverVm.JoinAsync</c> waits on.</summary>
public class MembershipTests
{
    private static VmInfo Vm() => new(VmId.New(), "127.0.0.1", 7700, new Dictionary<string, object?>());

    [Fact]
    public async Task A_VM_heard_of_settles_once_it_is_a_member_and_has_sent_its_member_list_or_is_given_up_on()
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

        // The list names two others: the join waits for them in turn, from the moment the list is read.
        var listed = membership.Changed;
        VmInfo other = Vm(), unreachable = Vm();
        membership.Listed(seed.Id, [other.Id, unreachable.Id]);
        await listed.WaitAsync(TimeSpan.FromSeconds(10)); // wakes the join's wait
        Assert.False(membership.Settled);
        membership.Upsert(other, null);
        Assert.False(membership.Settled);
        membership.Listed(other.Id, []);
        Assert.False(membership.Settled);

        // Nothing listens where the other was: the join waits for it no longer.
        var gaveUp = membership.Changed;
        membership.GiveUp(unreachable.Id);
        await gaveUp.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(membership.Settled);

        // A member is never given up on; one that leaves is waited for no longer.
        var leaving = Vm();
        membership.HeardOf(leaving.Id);
        membership.Upsert(leaving, null);
        membership.GiveUp(leaving.Id);
        Assert.False(membership.Settled);
        membership.Remove(leaving.Id);
        Assert.True(membership.Settled);
    }
}

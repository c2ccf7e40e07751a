namespace River.Tests.Delivery;

/// <summary>A packet holds its values as they were at <c>Send</c>, whichever path it takes to its receiver.</summary>
public sealed class SendSnapshotTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task An_array_changed_after_Send_to_a_VR_still_being_looked_up_arrives_as_it_was_sent()
    {
        await using var cluster = new LocalCluster(2);
        long[]? got = null;
        await Probe.Run(cluster.Vms[0], me =>
        {
            var receiver = me.Deploy<Probe>(me.Vm, Probe.Register(r => got = r.Recv(new { tag = "data" }, Bound).Get<long[]>("v")));
            // The sender on the other VM has never heard from the receiver: its first packet waits for a lookup.
            var sender = me.Deploy<Probe>(me.Discover()[1], Probe.Register(s =>
            {
                var to = s.Recv(new { tag = "to" }, Bound).Get<VrId>("vr");
                var data = new long[] { 1, 2, 3 };
                s.Send(to, new { tag = "data", v = data });
                data[0] = -1; // before the lookup is answered
                s.Send(s.DeployArgs[1] is VrId back ? back : throw new InvalidOperationException(), new { tag = "sent" });
            }), me.Id);
            me.Send(sender, new { tag = "to", vr = receiver });
            me.Recv(new { tag = "sent" }, Bound);
            me.Monitor(receiver);
            me.Recv(new { tag = "river.down" }, Bound);
        }).WaitAsync(Bound);
        Assert.Equal(new long[] { 1, 2, 3 }, got);
    }
}

namespace River.Tests.Transport;

/// <summary>
/// Big <c>byte[]</c> values between two VMs over TCP: the sender's array is copied once at <c>Send</c> (into the
/// link's kept buffer), and arrays a receiver recycles carry later values.
/// </summary>
public sealed class BigValueTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task An_array_refilled_right_after_each_Send_arrives_each_time_as_it_was_at_Send()
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        await using var a = await RiverVm.JoinAsync(TcpClusterTests.Options(name));
        await using var b = await RiverVm.JoinAsync(TcpClusterTests.Options(name, a));
        const int Count = 24, Length = (1 << 20) + 3;
        var bad = new List<int>();
        await Probe.Run(a, me =>
        {
            var sink = me.Deploy<Probe>(me.Discover(wait: Bound).Single(v => v.Id == b.Id), Probe.Register(s =>
            {
                for (var i = 0; i < Count; i++)
                {
                    var p = s.Recv(new { tag = "v" }, Bound);
                    var data = p.Get<byte[]>("data");
                    if (p.Get<int>("n") != i || data.Length != Length || data.Any(x => x != (byte)i)) bad.Add(i);
                    p.Recycle(); // the next values may arrive in this array
                }
                s.Send(s.Parent!.Value, new { tag = "done" });
            }));
            var data = new byte[Length];
            for (var i = 0; i < Count; i++)
            {
                Array.Fill(data, (byte)i);
                me.Send(sink, new { tag = "v", n = i, data });
                Array.Fill(data, (byte)0xFF); // at once, while the link may still be writing earlier values
                if (i % 5 == 0) me.Send(sink, new { tag = "small", n = i }); // small frames queued between big ones
            }
            me.Recv(new { tag = "done" }, Bound);
        }).WaitAsync(Bound);
        Assert.Empty(bad);
    }

    [Fact]
    public async Task A_recycled_array_carries_the_next_value_of_its_length_and_one_kept_is_never_reused()
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        await using var a = await RiverVm.JoinAsync(TcpClusterTests.Options(name));
        await using var b = await RiverVm.JoinAsync(TcpClusterTests.Options(name, a));
        const int Length = 1_234_567; // a length no other test recycles: the arrays kept are shared by the process
        byte[]? first = null, second = null, third = null;
        byte[]? firstCopy = null;
        await Probe.Run(a, me =>
        {
            var sink = me.Deploy<Probe>(me.Discover(wait: Bound).Single(v => v.Id == b.Id), Probe.Register(s =>
            {
                var p = s.Recv(new { tag = "v" }, Bound);
                first = p.Get<byte[]>("data");
                firstCopy = (byte[])first.Clone();
                p.Recycle();
                p.Recycle(); // a second time does nothing
                s.Send(s.Parent!.Value, new { tag = "next" });
                second = s.Recv(new { tag = "v" }, Bound).Get<byte[]>("data"); // kept: never recycled
                s.Send(s.Parent!.Value, new { tag = "next" });
                third = s.Recv(new { tag = "v" }, Bound).Get<byte[]>("data");
                s.Send(s.Parent!.Value, new { tag = "done" });
            }));
            for (var i = 1; i <= 3; i++)
            {
                me.Send(sink, new { tag = "v", data = Enumerable.Repeat((byte)i, Length).ToArray() });
                me.Recv(new { tag = i < 3 ? "next" : "done" }, Bound);
            }
        }).WaitAsync(Bound);
        Assert.Same(first, second);
        Assert.NotSame(second, third);
        Assert.All(firstCopy!, x => Assert.Equal(1, x));
        Assert.All(second!, x => Assert.Equal(2, x));
        Assert.All(third!, x => Assert.Equal(3, x));
    }
}

using System.Runtime.CompilerServices;
using River.Tests.RemoteObjects;

namespace River.Tests.Scripting;

/// <summary>Trickle on an embedded cluster: functions shipped with what they capture, Map, ForkWork's balancing, injected objects.</summary>
public sealed class TrickleTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ForkWork_applies_the_function_to_every_item_once_on_the_VMs_with_what_it_captured()
    {
        await using var t = await Trickle.Connect(["--vms", "3", "extra"]);
        Assert.Equal(3, t.Vms.Count);
        Assert.Equal(["extra"], t.Args);
        var offset = 1000;
        var results = await t.ForkWork(Enumerable.Range(0, 200), i => (Value: i + offset, Vm: Trickle.Here!.Id)).ToListAsync().AsTask().WaitAsync(Bound);
        Assert.Equal(Enumerable.Range(1000, 200), results.Select(r => r.Value).Order());
        Assert.Equal(t.Vms.Select(v => v.Id).ToHashSet(), results.Select(r => r.Vm).ToHashSet());
    }

    [Fact]
    public async Task ForkWork_gives_a_slow_VM_fewer_items_than_the_others()
    {
        await using var t = await Trickle.Connect(["--vms", "3"]);
        var slow = t.Vms[^1].Id;
        var done = await t.ForkWork(Enumerable.Range(0, 40), i =>
        {
            Thread.Sleep(Trickle.Here!.Id == slow ? 100 : 5);
            return Trickle.Here.Id;
        }).ToListAsync().AsTask().WaitAsync(Bound);
        var per = done.CountBy(vm => vm).ToDictionary();
        Assert.Equal(40, per.Values.Sum());
        foreach (var fast in t.Vms.Where(v => v.Id != slow))
            Assert.True(per.GetValueOrDefault(slow) < per.GetValueOrDefault(fast.Id), $"slow VM took {per.GetValueOrDefault(slow)}, a fast one {per.GetValueOrDefault(fast.Id)}");
    }

    [Fact]
    public async Task Map_runs_once_on_every_VM_and_Call_runs_where_it_is_told()
    {
        await using var t = await Trickle.Connect(["--vms", "3"]);
        var where = await t.Map(() => Trickle.Here!.Id).ToListAsync().AsTask().WaitAsync(Bound);
        Assert.Equal(t.Vms.Count, where.Count);
        Assert.Equal(t.Vms.Select(v => v.Id).ToHashSet(), where.ToHashSet());
        var greeting = "hello";
        Assert.Equal($"hello from {t.Vms[1].Id}", await t.Call(t.Vms[1], () => $"{greeting} from {Trickle.Here!.Id}").WaitAsync(Bound));
        Assert.Equal(49, await t.Call(t.Vms[2], static x => x * x, 7).WaitAsync(Bound));
    }

    [Fact]
    public async Task A_function_that_throws_ends_ForkWork_with_the_remote_exception()
    {
        await using var t = await Trickle.Connect(["--vms", "2"]);
        var taken = new StrongBox<int>();
        var e = await Assert.ThrowsAsync<RaiRemoteException>(() =>
            t.ForkWork(Counted(500, taken), i => i == 17 ? throw new ArgumentException($"item {i} is bad") : i).ToListAsync().AsTask().WaitAsync(Bound));
        Assert.Equal(typeof(ArgumentException).FullName, e.RemoteType);
        Assert.Equal("item 17 is bad", e.Message);
        Assert.True(taken.Value < 500, $"the other VM went on with the items after the error: {taken.Value} taken"); // it ends the farm, not just the enumeration
    }

    [Fact]
    public async Task Leaving_ForkWork_early_stops_handing_out_items()
    {
        await using var t = await Trickle.Connect(["--vms", "2"]);
        var taken = new StrongBox<int>();
        await foreach (var _ in t.ForkWork(Counted(1000, taken), static i =>
        {
            Thread.Sleep(10);
            return i;
        }))
        {
            break;
        }
        var atBreak = Volatile.Read(ref taken.Value);
        await Task.Delay(300);
        // Items under way finish, and their workers take no more.
        Assert.InRange(Volatile.Read(ref taken.Value), atBreak, atBreak + t.Vms.Count);
    }

    /// <summary>0 to <paramref name="count"/> - 1, counting in <paramref name="taken"/> how many ForkWork took.</summary>
    private static IEnumerable<int> Counted(int count, StrongBox<int> taken)
    {
        for (var i = 0; i < count; i++)
        {
            Interlocked.Increment(ref taken.Value);
            yield return i;
        }
    }

    [Fact]
    public async Task Injected_objects_live_one_on_each_VM_until_the_session_ends()
    {
        var token = Guid.NewGuid().ToString();
        await using (var t = await Trickle.Connect(["--vms", "2"]))
        {
            var calcs = t.Inject<ICalc, Calc>(token, 10L);
            Assert.Equal(2, calcs.Count);
            await Task.WhenAll(calcs.Select(c => c.AccumulateAsync(5))).WaitAsync(Bound);
            var totals = await Task.WhenAll(calcs.Select(c => c.TotalAsync().AsTask())).WaitAsync(Bound);
            Assert.Equal([15L, 15L], totals);
        }
        Assert.True(Calc.Disposed.ContainsKey(token), "the session's objects were released when it ended");
    }
}

namespace River.Tests.Vm;

/// <summary>The VM's table of running VRs (<see cref="VrTable"/>) and the random ids it is keyed by.</summary>
public class VrTableTests
{
    private sealed class Idle : AsyncVirtualResource
    {
        protected override Task MainAsync(CancellationToken stop) => Task.CompletedTask;
    }

    private static VrContext NewContext(RiverVm vm, VrId? id = null) =>
        new(vm, id ?? VrId.New(), null, [], [], new Idle(), new ProgramRun.Ref(Guid.NewGuid(), null));

    [Fact]
    public async Task Finds_what_was_set_until_it_is_removed_and_a_restarted_VR_keeps_its_place()
    {
        await using var vm = new RiverVm();
        var table = new VrTable();
        var all = Enumerable.Range(0, 1_000).Select(_ => NewContext(vm)).ToList();
        foreach (var c in all) table.Set(c);
        foreach (var c in all.Where((_, i) => i % 2 == 0)) table.Remove(c);
        Assert.Equal(500, table.Count);
        for (var i = 0; i < all.Count; i++)
        {
            var found = table.TryGetValue(all[i].Id, out var c);
            Assert.Equal(i % 2 == 1, found);
            if (found) Assert.Same(all[i], c);
        }
        Assert.Equal(all.Where((_, i) => i % 2 == 1).Select(c => c.Id.Value).Order(), table.Values.Select(c => c.Id.Value).Order());

        var old = all[1];
        var restarted = NewContext(vm, old.Id);
        table.Set(restarted);
        table.Remove(old); // the old instance's end must not take out its successor
        Assert.Equal(500, table.Count);
        Assert.True(table.TryGetValue(old.Id, out var now));
        Assert.Same(restarted, now);
    }

    [Fact]
    public async Task A_lookup_never_misses_a_VR_while_others_come_and_go_and_the_table_grows()
    {
        await using var vm = new RiverVm();
        var table = new VrTable();
        var stable = Enumerable.Range(0, 64).Select(_ => NewContext(vm)).ToArray();
        foreach (var c in stable) table.Set(c);
        var churn = Enumerable.Range(0, 50_000).Select(_ => NewContext(vm)).ToArray();
        using var done = new CancellationTokenSource();
        var misses = 0L;
        var lookups = 0L;
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            for (var i = 0; !done.IsCancellationRequested || i < 100_000; i++)
            {
                var c = stable[i % stable.Length];
                if (!table.TryGetValue(c.Id, out var found) || !ReferenceEquals(found, c)) Interlocked.Increment(ref misses);
                Interlocked.Increment(ref lookups);
            }
        })).ToArray();
        // Waves of adds and removes: the table grows, and rebuilds to drop removed slots.
        for (var wave = 0; wave < 4; wave++)
        {
            foreach (var c in churn) table.Set(c);
            foreach (var c in churn) table.Remove(c);
        }
        done.Cancel();
        await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(0, misses);
        Assert.True(lookups >= 200_000);
        Assert.Equal(stable.Length, table.Count);
    }

    [Fact]
    public void Random_ids_are_version_4_UUIDs_and_do_not_repeat_across_threads()
    {
        var ids = new System.Collections.Concurrent.ConcurrentBag<Guid>();
        Parallel.For(0, 4, _ =>
        {
            for (var i = 0; i < 5_000; i++) ids.Add(VrId.New().Value);
        });
        Assert.Equal(20_000, ids.Distinct().Count());
        Assert.All(ids, g =>
        {
            Assert.Equal(4, g.Version);
            Assert.Equal(0b10, g.Variant >> 2); // RFC 9562: variant bits 10
        });
    }
}

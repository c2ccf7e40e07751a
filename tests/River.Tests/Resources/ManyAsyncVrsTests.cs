namespace River.Tests.Resources;

/// <summary>
/// 100,000 async VRs run on the process's thread pool: for a few seconds tens of thousands of work items wait in
/// it, and any other test's pool work waits behind them (2.7 s seen). So this runs alone, after the parallel tests.
/// </summary>
[Collection(PoolFloodCollection.Name)]
public sealed class ManyAsyncVrsTests
{
    [Fact]
    public async Task One_VM_hosts_100000_async_VRs()
    {
        await using var vm = new RiverVm();
        const int n = 100_000;
        var sum = 0L;
        await AsyncProbe.Run(vm, async (me, stop) =>
        {
            var key = AsyncProbe.Register(async (c, s) =>
            {
                var p = await c.RecvAsync(cancel: s);
                c.Send(c.Parent!.Value, new { v = p.Get<int>("v") });
            });
            var ids = me.Deploy<AsyncProbe>(Enumerable.Repeat(me.Vm, n), key);
            Assert.Equal(n + 1, vm.VrCount); // every child started and is waiting
            for (var i = 0; i < n; i++) me.Send(ids[i], new { v = i });
            for (var i = 0; i < n; i++) sum += (await me.RecvAsync(cancel: stop)).Get<int>("v");
        }).WaitAsync(TimeSpan.FromSeconds(120));
        Assert.Equal((long)n * (n - 1) / 2, sum);
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PoolFloodCollection
{
    public const string Name = "Floods the thread pool";
}

namespace River.Tests.Resources;

/// <summary><see cref="RiverVm.Spawn{T}"/>: code outside VRs runs as a VR of its own and gets its result.</summary>
public sealed class SpawnTests
{
    public sealed class Doubler : VirtualResource
    {
        protected override void Main()
        {
            while (Recv() is var p && p.Get<string>("tag") != "stop")
                Send(p.Src, new { tag = "doubled", n = p.Get<int>("n") * 2 });
        }
    }

    [Fact]
    public async Task ASpawnedBodyDeploysOnAnotherVmAndGetsRepliesAsAnyVrDoes()
    {
        await using var cluster = new LocalCluster(2);
        var (results, worker) = await cluster.Vms[0].Spawn(async me =>
        {
            var w = me.Deploy<Doubler>(cluster.Vms[1].Info);
            var got = new List<int>();
            for (var i = 1; i <= 3; i++)
            {
                me.Send(w, new { tag = "double", n = i });
                got.Add((await me.RecvAsync(new { tag = "doubled", src = w }, TimeSpan.FromSeconds(10))).Get<int>("n"));
            }
            me.Send(w, new { tag = "stop" });
            return (got, w);
        });
        Assert.Equal([2, 4, 6], results);
        Assert.NotEqual(default, worker);
    }

    [Fact]
    public async Task ABodyThatThrowsFailsTheTaskAndItsMonitorsSeeWhy()
    {
        await using var cluster = new LocalCluster(1);
        var vm = cluster.Vms[0];
        var failingId = new TaskCompletionSource<VrId>();
        var failing = vm.Spawn<int>(async me =>
        {
            failingId.SetResult(me.Id);
            await me.RecvAsync(new { tag = "go" });
            throw new InvalidOperationException("on purpose");
        });
        var down = await vm.Spawn(async watcher =>
        {
            var target = await failingId.Task;
            watcher.Monitor(target);
            watcher.Send(target, new { tag = "go" });
            return await watcher.RecvAsync(new { tag = "river.down" }, TimeSpan.FromSeconds(10));
        });
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => failing);
        Assert.Equal("on purpose", error.Message);
        Assert.Equal("failed", down.Get<string>("reason"));
        Assert.Equal("System.InvalidOperationException: on purpose", down.Get<string>("error"));
    }
}

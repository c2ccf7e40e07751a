namespace River;

/// <summary>
/// N VMs inside one process that behave as separate VMs: every packet and deploy between them is
/// serialized exactly as on the network, so a program that works here works across machines.
/// </summary>
/// <example><code>
/// await using var cluster = new LocalCluster(4);
/// await cluster.RunAsync&lt;Pi&gt;(args);
/// </code></example>
public sealed class LocalCluster : IAsyncDisposable
{
    private readonly List<InProcessPeer.Inbox> _inboxes = [];

    /// <summary>Starts <paramref name="vms"/> VMs, connects each to every other and waits until all know each other.</summary>
    public LocalCluster(int vms, Action<RiverVmOptions>? configure = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vms, 1);
        var list = new List<RiverVm>(vms);
        for (var i = 0; i < vms; i++)
        {
            var options = new RiverVmOptions { Host = "embedded", Port = i + 1 };
            configure?.Invoke(options);
            var vm = new RiverVm(options);
            list.Add(vm);
            _inboxes.Add(new InProcessPeer.Inbox(vm));
        }
        Vms = list;
        for (var a = 0; a < vms; a++)
            for (var b = a + 1; b < vms; b++)
            {
                var ab = new InProcessPeer(list[b].Id, _inboxes[b]);
                var ba = new InProcessPeer(list[a].Id, _inboxes[a]) { Reverse = ab };
                ab.Reverse = ba;
                list[a].Connect(ab);
            }
        var deadline = DateTime.UtcNow.AddSeconds(10);
        foreach (var vm in list)
            while (DateTime.UtcNow < deadline)
            {
                var changed = vm.Membership.Changed; // taken before the check, so a join in between still wakes us
                if (vm.Membership.Snapshot().Count >= vms - 1) break;
                changed.Wait(deadline - DateTime.UtcNow);
            }
    }

    /// <summary>The VMs; the first runs the initiator.</summary>
    public IReadOnlyList<RiverVm> Vms { get; }

    /// <summary>Runs <typeparamref name="TVr"/> as the initiator on the first VM until it ends; rethrows its failure.</summary>
    public Task RunAsync<TVr>(IReadOnlyList<string>? args = null) where TVr : VirtualResourceBase => Vms[0].RunAsync<TVr>(args);

    /// <summary>Stops every VM.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var vm in Vms) await vm.DisposeAsync();
        foreach (var inbox in _inboxes) inbox.Complete();
        await Task.WhenAll(_inboxes.Select(i => i.Loop));
    }
}

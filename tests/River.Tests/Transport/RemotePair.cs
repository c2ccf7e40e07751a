namespace River.Tests.Transport;

/// <summary>Two VMs joined over loopback TCP: a probe on the first runs with the second's <see cref="VmInfo"/>.</summary>
internal static class RemotePair
{
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    public static Task RunAsync(Action<Probe, VmInfo> body, Action<ClusterOptions>? configure = null) =>
        RunAsync((me, there, _) => body(me, there), configure);

    /// <summary>As above, with the second VM itself (to watch or hold its packets).</summary>
    public static async Task RunAsync(Action<Probe, VmInfo, RiverVm> body, Action<ClusterOptions>? configure = null)
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        ClusterOptions Options(params RiverVm[] seeds)
        {
            var options = TcpClusterTests.Options(name, seeds);
            configure?.Invoke(options);
            return options;
        }
        await using var a = await RiverVm.JoinAsync(Options());
        await using var b = await RiverVm.JoinAsync(Options(a));
        await Probe.Run(a, me => body(me, me.Discover(wait: Bound).Single(v => v.Id == b.Id), b)).WaitAsync(Bound);
    }
}

namespace River.Tests.Transport;

/// <summary>Two VMs joined over loopback TCP: a probe on the first runs with the second's <see cref="VmInfo"/>.</summary>
internal static class RemotePair
{
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    public static async Task RunAsync(Action<Probe, VmInfo> body)
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        await using var a = await RiverVm.JoinAsync(TcpClusterTests.Options(name));
        await using var b = await RiverVm.JoinAsync(TcpClusterTests.Options(name, a));
        await Probe.Run(a, me => body(me, me.Discover(wait: Bound).Single(v => v.Id == b.Id))).WaitAsync(Bound);
    }
}

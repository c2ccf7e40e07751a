namespace River.Tests.Flow;

/// <summary>
/// The sink of the flood tests: takes <c>DeployArgs[0]</c> packets <c>{ tag = "d", n, data }</c>, checks
/// that <c>n</c> counts 0, 1, 2, ... (nothing lost, duplicated or reordered), sleeps 1 ms every
/// <c>DeployArgs[1]</c> packets, and tells its parent <c>{ tag = "done", error, maxQueued }</c>.
/// A class of its own (not a <see cref="Probe"/>) so it can be shipped to a <c>river vm</c> process.
/// </summary>
public sealed class FloodSink : VirtualResource
{
    protected override void Main()
    {
        var (count, pauseEvery) = ((int)DeployArgs[0]!, (int)DeployArgs[1]!);
        var error = "";
        var maxQueued = 0;
        for (var i = 0; i < count; i++)
        {
            var n = Recv(new { tag = "d" }).Get<int>("n");
            if (n != i && error.Length == 0) error = $"packet {i} carried n = {n}";
            if (i % pauseEvery != 0) continue;
            maxQueued = Math.Max(maxQueued, QueuedPackets);
            Thread.Sleep(1);
        }
        Send(Parent!.Value, new { tag = "done", error, maxQueued });
    }

    /// <summary>Sends <paramref name="count"/> packets of 1 KiB to <paramref name="sink"/>, numbered from 0.</summary>
    public static void Flood(VirtualResource sender, VrId sink, int count)
    {
        var data = new byte[1024];
        for (var n = 0; n < count; n++) sender.Send(sink, new { tag = "d", n, data });
    }
}

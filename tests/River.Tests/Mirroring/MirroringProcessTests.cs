using River.Tests.Cluster;
using Xunit.Abstractions;

namespace River.Tests.Mirroring;

/// <summary>
/// Mirroring under chaos, on real processes: samples/Mirrored sends 30,000 numbered requests (200 in flight) to a
/// counter mirrored on two <c>river vm</c> processes, and one of them is SIGKILLed at a random point: every request
/// is answered exactly once, in order, with the right sum. The failover waits for the dead VM to be declared gone
/// (suspected after 2 s of silence, gone once its port has refused connections for 2 s more).
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class MirroringProcessTests(ITestOutputHelper output) : ProcessTest
{
    private static readonly TimeSpan RunBound = TimeSpan.FromSeconds(120);

    [Theory]
    [InlineData("primary", 2_000)]
    [InlineData("primary", 14_000)]
    [InlineData("primary", 27_000)]
    [InlineData("mirror", 12_000)]
    public async Task A_mirrored_counter_answers_every_request_once_in_order_while_a_replicas_VM_is_killed(string victim, int near)
    {
        using var primary = await VmProcess.StartAsync(_cluster, null, "--attr", "role=primary");
        using var mirror = await VmProcess.StartAsync(_cluster, [primary], "--attr", "role=mirror");
        const int count = 30_000;
        using var client = ChildProcess.Sample("Mirrored", ["--seeds", primary.Address, .. _cluster.Args, "--count", $"{count}", "--window", "200"]);
        await client.WaitForStdoutAsync(l => l == $"at {near}", RunBound);
        await Task.Delay(Random.Shared.Next(0, 300)); // somewhere in the next few hundred answers
        (victim == "primary" ? primary : mirror).Kill();
        var run = await client.WaitAsync(RunBound);
        output.WriteLine($"{victim} killed after answer {near}\n{run}");
        run.AssertSucceeded();
        Assert.StartsWith($"{count} of {count}, once each, in order, sums right", run.After("answered "), StringComparison.Ordinal);
        var survivor = victim == "primary" ? mirror : primary;
        Assert.False(survivor.HasExited);
        if (victim == "primary") await survivor.WaitForLogAsync("this replica is the primary now", TimeSpan.FromSeconds(10));
    }
}

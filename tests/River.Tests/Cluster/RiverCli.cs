using System.Text.Json;

namespace River.Tests.Cluster;

/// <summary>A VM as <c>river status --json</c> shows it.</summary>
public sealed record VmStatus(string Id, string Address, IReadOnlyList<VrStatusRow> Vrs, IReadOnlyDictionary<string, string?> Attributes);

public sealed record VrStatusRow(string Id, string Type);

/// <summary>Runs the <c>river</c> command (River.Cli.dll) as a process, as a user would.</summary>
public static class RiverCli
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    public static async Task<ProcessOutput> RunAsync(params string[] args)
    {
        using var river = ChildProcess.Dotnet(Built.RiverCli, args);
        return await river.WaitAsync(CommandTimeout);
    }

    /// <summary><c>river status --json</c> through <paramref name="seed"/>: every VM reachable from it.</summary>
    public static async Task<IReadOnlyList<VmStatus>> StatusAsync(TestCluster cluster, string seed)
    {
        var run = await RunAsync(["status", "--json", "--seeds", seed, .. cluster.Args]);
        run.AssertSucceeded();
        using var json = JsonDocument.Parse(run.Stdout);
        return
        [
            .. json.RootElement.EnumerateArray().Select(vm => new VmStatus(
                vm.GetProperty("id").GetString()!,
                vm.GetProperty("address").GetString()!,
                [.. vm.GetProperty("vrs").EnumerateArray().Select(vr => new VrStatusRow(vr.GetProperty("id").GetString()!, vr.GetProperty("type").GetString()!))],
                vm.GetProperty("attributes").EnumerateObject().ToDictionary(a => a.Name, a => a.Value.GetString()))),
        ];
    }

    /// <summary>
    /// Polls status until <paramref name="done"/> holds for it; returns that status, or fails with the
    /// last one seen after <paramref name="bound"/>.
    /// </summary>
    public static async Task<IReadOnlyList<VmStatus>> StatusUntilAsync(TestCluster cluster, string seed, Func<IReadOnlyList<VmStatus>, bool> done, TimeSpan bound, string what)
    {
        var deadline = DateTime.UtcNow + bound;
        while (true)
        {
            var status = await StatusAsync(cluster, seed);
            if (done(status)) return status;
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"{what}: not within {bound}; last status:\n{string.Join('\n', status.Select(s => $"{s.Id} {s.Address} [{string.Join(", ", s.Vrs)}]"))}");
            await Task.Delay(200);
        }
    }

    /// <summary>The ids of VMs in a status, as a sorted set for comparisons.</summary>
    public static IReadOnlyList<string> Ids(this IEnumerable<VmStatus> status) => [.. status.Select(s => s.Id).Order(StringComparer.Ordinal)];

    public static IReadOnlyList<string> Ids(this IEnumerable<VmProcess> vms) => [.. vms.Select(v => v.Id).Order(StringComparer.Ordinal)];
}

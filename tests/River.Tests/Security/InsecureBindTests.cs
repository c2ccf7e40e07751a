using River.Tests.Cluster;

namespace River.Tests.Security;

/// <summary>
/// Without a key, a cluster's key is derived from its name: anyone who can reach the port and guess the
/// name could run code. So a VM listens beyond loopback without a key only when told --insecure.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class InsecureBindTests
{
    [Fact]
    public async Task A_VM_refuses_to_listen_on_all_interfaces_without_a_key_and_names_the_insecure_option()
    {
        // Had it started, it would listen on 0.0.0.0: the bound kills it within seconds.
        using var river = ChildProcess.Dotnet(Built.RiverCli, ["vm", "--bind", "0.0.0.0", "--port", "0", "--no-multicast", "--cluster", "t" + Guid.NewGuid().ToString("N")[..16]]);
        var run = await river.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.True(run.ExitCode != 0, $"it started\n{run}");
        Assert.Contains("--insecure", run.Stdout + run.Stderr);
        Assert.DoesNotContain("listening on", run.Stdout);
    }
}

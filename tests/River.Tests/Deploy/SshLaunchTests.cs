using River.Tests.Cluster;
using Xunit.Abstractions;

namespace River.Tests.Deploy;

/// <summary>
/// <c>river up</c>/<c>river down</c> over real ssh: tests/netns/ssh.sh runs Debian's sshd in two network
/// namespaces (host keys and a login key made by the test), starts a VM on each with <c>river up</c> from a
/// third, runs Pi on them and stops them with <c>river down</c>. It needs root; where it cannot run, the test
/// passes and its output starts with "SKIPPED:" and the reason.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class SshLaunchTests(ITestOutputHelper output)
{
    [Fact]
    public async Task River_up_starts_a_VM_per_host_over_ssh_that_run_Pi_and_river_down_stops_them__or_SKIPPED_without_root()
    {
        var result = await NetnsScript.RunAsync(output, "ssh.sh", "rsh", Built.Sample("Pi"), TimeSpan.FromMinutes(3));
        if (result is null) return; // SKIPPED, as the output says
        Assert.Contains("PASS: river up started 2 VMs over ssh, Pi ran on 3 workers", result.Stdout);
        Assert.Contains("root@10.77.0.1: stopped the VM on 10.77.0.1:7700", result.Stdout);
        Assert.Contains("root@10.77.0.2: stopped the VM on 10.77.0.2:7700", result.Stdout);
    }

    [Theory]
    [InlineData("root@10.0.0.1:ssh\n", "hosts.txt:1: 'root@10.0.0.1:ssh' has no valid ssh port after ':'.")]
    [InlineData("# a comment\n\nroot@node1\n", "hosts.txt:3: 'node1' is not an IP address: give the VM's address with --bind.")]
    [InlineData("root@10.0.0.1 --port\n", "hosts.txt:1: --port has no value.")]
    [InlineData("# nothing\n", "names no host.")]
    public async Task A_bad_hosts_file_is_refused_with_its_line_before_any_ssh(string hosts, string message)
    {
        var dir = Directory.CreateTempSubdirectory("river-hosts");
        try
        {
            var file = Path.Combine(dir.FullName, "hosts.txt");
            await File.WriteAllTextAsync(file, hosts);
            var run = await RiverCli.RunAsync("up", "--hosts", file);
            Assert.Equal(2, run.ExitCode);
            Assert.Contains(message, run.Stderr);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

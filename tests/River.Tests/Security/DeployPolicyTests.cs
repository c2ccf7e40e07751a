using Microsoft.Extensions.Logging.Console;
using River.Tests.Cluster;

namespace River.Tests.Security;

/// <summary>What other VMs may deploy on a VM: <c>river vm --no-deploy</c>, <c>--allow-program</c>, and no widening by refused deploys.</summary>
[Collection(ProcessCollection.Name)]
public sealed class DeployPolicyTests
{
    private static Task<ProcessOutput> RunSampleOn(VmProcess vm, TestCluster cluster, string sample, params string[] args) =>
        ChildProcess.RunSampleAsync(sample, [.. args, "--seeds", vm.Address, .. cluster.Args]);

    [Fact]
    public async Task A_VM_with_no_deploy_refuses_a_program_which_fails_naming_the_refusal()
    {
        using var cluster = TestCluster.Create();
        using var vm = await VmProcess.StartAsync(cluster, null, "--no-deploy");
        var run = await RunSampleOn(vm, cluster, "Hello");
        Assert.True(run.ExitCode != 0, $"Hello succeeded on a --no-deploy VM\n{run}");
        Assert.Contains("does not accept deploys from other VMs", run.Stdout + run.Stderr);
        await vm.WaitForLogAsync("Refused deploy of Hello", TimeSpan.FromSeconds(5));
        Assert.DoesNotContain(vm.StderrLines, l => l.Contains("Deployed Hello", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_VM_allowing_Hello_by_hash_runs_Hello_and_refuses_Pi()
    {
        var hash = await RiverCli.RunAsync("hash", Built.Sample("Hello"));
        hash.AssertSucceeded();
        var hashes = hash.Stdout.Trim();
        Assert.Matches("^[0-9A-F]{64}(,[0-9A-F]{64})*$", hashes);
        using var cluster = TestCluster.Create();
        // Lower case on input works as well as river hash's upper case.
        using var vm = await VmProcess.StartAsync(cluster, null, "--allow-program", hashes.ToLowerInvariant());

        var hello = await RunSampleOn(vm, cluster, "Hello");
        hello.AssertSucceeded();
        Assert.Contains(hello.Lines, l => l.EndsWith($"({vm.Address})", StringComparison.Ordinal));

        var pi = await RunSampleOn(vm, cluster, "Pi", "--samples", "1000");
        Assert.True(pi.ExitCode != 0, $"Pi ran on a VM that allows only Hello\n{pi}");
        Assert.Contains("admits only programs on its list", pi.Stdout + pi.Stderr);
        await vm.WaitForLogAsync("Refused deploy of Pi", TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_refused_deploy_of_a_host_library_type_leaves_that_library_refused()
    {
        using var cluster = TestCluster.Create();
        using var vm = await VmProcess.StartAsync(cluster);
        var serializer = new RiverSerializer();
        var library = typeof(ConsoleLoggerProvider);   // on every VM (River logs with it), and no VR
        var args = new System.Buffers.ArrayBufferWriter<byte>();
        serializer.WriteValue(args, "args", Array.Empty<object?>());
        var deploy = new DeployRequest(1, VrId.New(), library.AssemblyQualifiedName!, null, [], args.WrittenSpan.ToArray(), Guid.NewGuid(), []);
        byte[] value = [Frames.ControlKind, .. HostileValues.Named(typeof(ConsoleFormatterOptions).AssemblyQualifiedName!, HostileValues.EmptyMap)];

        using (var client = await WireClient.ConnectAsync(vm.Port, default))
        {
            client.Authenticate(cluster.Options());
            await client.SendAsync(WireClient.Framed(Frames.Control(serializer, deploy)), default);
            await client.SendAsync(WireClient.Framed(value), default);
            Assert.True(await client.FinishAsync(TimeSpan.FromSeconds(7)), $"the VM left the connection open\n{vm}");
        }
        await vm.WaitForLogAsync($"Refused deploy of {library.AssemblyQualifiedName}", TimeSpan.FromSeconds(5));
        await vm.WaitForLogAsync($"Type '{typeof(ConsoleFormatterOptions).FullName}' is not on this cluster's allow-list", TimeSpan.FromSeconds(5));
        Assert.Equal([vm.Id], (await RiverCli.StatusAsync(cluster, vm.Address)).Ids());
    }
}

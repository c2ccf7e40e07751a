using System.Text.Json;

namespace River.Tests.Cluster;

/// <summary><c>river vm</c> takes its options from flags, then RIVER_* variables, then river.json.</summary>
[Collection(ProcessCollection.Name)]
public sealed class ConfigurationTests : ProcessTest
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("river-config-");

    public override void Dispose()
    {
        base.Dispose();
        _dir.Delete(recursive: true);
    }

    [Fact]
    public async Task FlagsWinOverTheEnvironmentWhichWinsOverRiverJson()
    {
        var seed = await VmProcess.StartAsync(_cluster);
        _vms.Add(seed);
        File.WriteAllText(Path.Combine(_dir.FullName, "river.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["cluster"] = "not-this-one",          // the environment's name wins
            ["keyFile"] = _cluster.KeyFile,        // camel case works as well as key-file
            ["seeds"] = seed.Address,
            ["no-multicast"] = true,
            ["attr"] = new[] { "source=json", "role=vm" },
            ["port"] = 1,                          // the flag wins: port 1 would need root and is not what listens
        }));
        var env = new Dictionary<string, string> { ["RIVER_CLUSTER"] = _cluster.Name };

        var vm = await VmProcess.StartAsync(["vm", "--port", "0"], _dir.FullName, env);
        _vms.Add(vm);

        Assert.NotEqual(1, vm.Port);
        var status = await RiverCli.StatusUntilAsync(_cluster, seed.Address, s => s.Any(v => v.Id == vm.Id), TimeSpan.FromSeconds(15), "the configured VM joined");
        Assert.Equal("json", status.Single(v => v.Id == vm.Id).Attributes["source"]);
    }

    [Fact]
    public async Task AConfigFileThatIsNamedButMissingStopsTheVmWithItsName()
    {
        var missing = Path.Combine(_dir.FullName, "absent.json");
        using var river = ChildProcess.Dotnet(Built.RiverCli, ["vm", "--port", "0", "--config", missing]);
        var output = await river.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(2, output.ExitCode);
        Assert.StartsWith("river vm: ", output.Stderr);
        Assert.Contains("absent.json", output.Stderr);
        Assert.DoesNotContain("Unhandled", output.Stderr);
    }
}

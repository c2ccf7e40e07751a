using System.IO.Compression;
using System.Reflection.PortableExecutable;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using River.Tests.Cluster;

namespace River.Tests.Packaging;

/// <summary>
/// What the README promises a user who installs River: <c>dotnet pack -c Release</c> at the root makes
/// the packages (one version, XML docs, SourceLink), the <c>river</c> tool installs and runs from them,
/// and <c>dotnet new river-app</c> makes a program that runs. Everything happens under a fresh HOME; packages
/// come only from the packed folder and from the machine's package cache used as a local feed (no network).
/// </summary>
[Collection(ReleaseBuilds.Name)]
public sealed partial class PackageTests : IDisposable
{
    private static readonly TimeSpan Pack = TimeSpan.FromMinutes(5), Step = TimeSpan.FromMinutes(2);

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("river-pack-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    [Trait("Category", "Packaging")]
    public async Task PackedToolAndTemplateInstallAndRunUnderAFreshHome()
    {
        var artifacts = Path.Combine(_dir.FullName, "artifacts");
        (await DotnetAsync(Built.Root, Pack, "pack", "-c", "Release", "-o", artifacts)).AssertSucceeded();

        var version = VersionPrefix().Match(File.ReadAllText(Path.Combine(Built.Root, "Directory.Build.props"))).Groups[1].Value;
        Assert.NotEmpty(version);
        foreach (var id in (string[])["River", "River.Cli", "River.Templates"])
            Assert.True(File.Exists(Path.Combine(artifacts, $"{id}.{version}.nupkg")), $"{id}.{version}.nupkg missing in {string.Join(", ", Directory.GetFiles(artifacts).Select(Path.GetFileName))}");
        Assert.True(File.Exists(Path.Combine(artifacts, $"River.{version}.snupkg")), "the River symbols package is missing");
        using (var river = ZipFile.OpenRead(Path.Combine(artifacts, $"River.{version}.nupkg")))
        {
            Assert.Contains(river.Entries, e => e.FullName == "lib/net10.0/River.xml");
            Assert.Contains(river.Entries, e => e.FullName == "buildTransitive/River.props");
            Assert.True(IsReadyToRun(river.GetEntry("lib/net10.0/River.dll")!), "River.dll in the package is not ReadyToRun-compiled");
            using var nuspec = new StreamReader(river.GetEntry("River.nuspec")!.Open());
            Assert.Matches("<repository [^>]*commit=\"[0-9a-f]{40}\"", await nuspec.ReadToEndAsync());   // SourceLink saw the commit
        }

        var home = Path.Combine(_dir.FullName, "home");
        var feed = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var env = new Dictionary<string, string>
        {
            ["HOME"] = home,
            ["DOTNET_CLI_HOME"] = home,
            ["NUGET_PACKAGES"] = Path.Combine(home, "packages"),
            ["DOTNET_NOLOGO"] = "1",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        };
        var work = Directory.CreateDirectory(Path.Combine(_dir.FullName, "work")).FullName;
        File.WriteAllText(Path.Combine(work, "nuget.config"), $"""
            <configuration>
              <packageSources>
                <clear />
                <add key="artifacts" value="{artifacts}" />
                <add key="machine-cache" value="{feed}" />
              </packageSources>
            </configuration>
            """);

        var tools = Path.Combine(_dir.FullName, "tools");
        (await DotnetAsync(work, Step, env, "tool", "install", "--tool-path", tools, "--add-source", artifacts, "--version", version, "River.Cli")).AssertSucceeded();
        using (var help = ChildProcess.Start(Path.Combine(tools, "river"), ["--help"], work, env))
        {
            var output = await help.WaitAsync(Step);
            output.AssertSucceeded();
            Assert.Contains(output.Lines, l => l.TrimStart().StartsWith("vm", StringComparison.Ordinal));
        }

        (await DotnetAsync(work, Step, env, "new", "install", Path.Combine(artifacts, $"River.Templates.{version}.nupkg"))).AssertSucceeded();
        (await DotnetAsync(work, Step, env, "new", "river-app", "-o", "Greetings")).AssertSucceeded();
        Assert.Contains($"Include=\"River\" Version=\"{version}\"", File.ReadAllText(Path.Combine(work, "Greetings", "Greetings.csproj")));
        var run = await DotnetAsync(Path.Combine(work, "Greetings"), Pack, env, "run", "--", "--vms", "3");
        run.AssertSucceeded();
        Assert.Equal(3, run.Lines.Count(l => l.StartsWith("Hello from ", StringComparison.Ordinal)));
        // River's package gives the program its runtime settings (buildTransitive/River.props); the template sets none itself.
        var settings = JsonNode.Parse(File.ReadAllText(Directory.GetFiles(Path.Combine(work, "Greetings", "bin"), "Greetings.runtimeconfig.json", SearchOption.AllDirectories).Single()))!["runtimeOptions"]!["configProperties"]!;
        Assert.False(settings["System.Runtime.TieredPGO"]!.GetValue<bool>());
        Assert.Equal(0, settings["System.Runtime.TieredCompilation.CallCountingDelayMs"]!.GetValue<int>());
        Assert.Equal(2000, settings["System.Runtime.TieredCompilation.CallCountThreshold"]!.GetValue<int>());
    }

    [Fact]
    [Trait("Category", "Packaging")]
    public async Task HostBuildIsASelfContainedRiverWhoseVmJoinsAClusterOfTheUsualBuild()
    {
        // What OPERATIONS.md tells an operator to run for hosts: one executable, the framework inside, precompiled as one image.
        var host = Path.Combine(_dir.FullName, "host");
        (await DotnetAsync(Built.Root, Pack, "publish", "src/River.Cli", "-c", "Release", "-p:Host=true", "-o", host)).AssertSucceeded();
        Assert.True(File.Exists(Path.Combine(host, "River.Cli.r2r.dll")), "no composite ReadyToRun image");
        Assert.True(File.Exists(Path.Combine(host, "libcoreclr.so")), "not self-contained: the runtime is missing");
        Assert.Contains("includedFrameworks", File.ReadAllText(Path.Combine(host, "River.Cli.runtimeconfig.json")));

        using var cluster = TestCluster.Create();
        using var usual = await VmProcess.StartAsync(cluster);
        using var hosted = await VmProcess.StartExecutableAsync(Path.Combine(host, "River.Cli"), ["vm", "--port", "0", "--no-multicast", .. cluster.Args, "--seeds", usual.Address]);
        await RiverCli.StatusUntilAsync(cluster, usual.Address, status => status.Ids().Contains(hosted.Id), Step, "the Host build's VM in the usual build's cluster");
    }

    private static Task<ProcessOutput> DotnetAsync(string directory, TimeSpan timeout, params string[] args) =>
        DotnetAsync(directory, timeout, null, args);

    private static async Task<ProcessOutput> DotnetAsync(string directory, TimeSpan timeout, IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        using var dotnet = ChildProcess.Start(ChildProcess.DotnetHost, args, directory, env);
        return await dotnet.WaitAsync(timeout);
    }

    /// <summary>True when the assembly carries native code (a ReadyToRun header), not IL alone.</summary>
    private static bool IsReadyToRun(ZipArchiveEntry entry)
    {
        using var bytes = new MemoryStream();
        using (var s = entry.Open()) s.CopyTo(bytes);
        bytes.Position = 0;
        using var pe = new PEReader(bytes);
        return pe.PEHeaders.CorHeader?.ManagedNativeHeaderDirectory.Size > 0;
    }

    [GeneratedRegex("<VersionPrefix>([^<]+)</VersionPrefix>")]
    private static partial Regex VersionPrefix();
}

using System.Text.Json;

namespace River.Tests.Bench;

/// <summary>
/// Runs the benchmark suite the way a user does (quick, one scenario, JSON) and checks its output
/// contract: every stdout line is one JSON object with the documented fields and a positive value.
/// The benchmarks themselves stay out of the test run: this only checks that the suite runs.
/// </summary>
[Collection(ReleaseBuilds.Name)]
public class BenchSmokeTests
{
    // The Release build (crossgen of River and of the peers it is compared with) takes ~40 s on 2 cores alone and
    // minutes on a loaded machine; it is bounded apart from the scenario, so a slow build and a hung bench fail apart.
    private static readonly TimeSpan BuildLimit = TimeSpan.FromMinutes(12), RunLimit = TimeSpan.FromMinutes(5);
    private static readonly Lazy<Task<string>> Bench = new(BuildAsync);

    [Theory]
    [Trait("Category", "Bench")]
    // A stream, not a ping-pong: a fixed number of hand-offs between two spinning threads took over 5 minutes once
    // with far more runnable threads than cores (two burners and three benchmark processes beside the suite), and
    // this test checks the output contract, not speed.
    [InlineData("alloc")]
    [InlineData("selective-recv")] // queues past the default queue limit: failed with QueueFullException unnoticed
    public async Task QuickJsonScenarioPrintsOneValidObjectPerLine(string scenario)
    {
        using var bench = ChildProcess.Dotnet(await Bench.Value, ["--quick", "--json", "--filter", scenario], Built.Root);
        var run = await bench.WaitAsync(RunLimit);
        run.AssertSucceeded();
        var lines = run.Stdout.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        if (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        Assert.NotEmpty(lines);
        foreach (var line in lines) CheckResult(line, scenario);
    }

    private static async Task<string> BuildAsync()
    {
        var project = Path.Combine("bench", "River.Bench");
        using var build = ChildProcess.Start(ChildProcess.DotnetHost, ["build", "-c", "Release", project], Built.Root, lifetime: BuildLimit);
        (await build.WaitAsync(BuildLimit)).AssertSucceeded();
        return Path.Combine(Built.Root, project, "bin", "Release", Built.Framework, "River.Bench.dll");
    }

    private static void CheckResult(string line, string scenario)
    {
        using var doc = JsonDocument.Parse(line);
        var o = doc.RootElement;
        Assert.Equal(JsonValueKind.Object, o.ValueKind);
        Assert.Equal(scenario, o.GetProperty("scenario").GetString());
        foreach (var name in (string[])["metric", "unit", "baseline"])
            Assert.False(string.IsNullOrEmpty(o.GetProperty(name).GetString()), $"'{name}' is empty in: {line}");
        foreach (var name in (string[])["value", "baseline_value", "ratio", "min", "max"])
            Assert.True(o.GetProperty(name).GetDouble() > 0, $"'{name}' is not a positive number in: {line}");
        Assert.True(o.GetProperty("min").GetDouble() <= o.GetProperty("value").GetDouble(), $"min > median in: {line}");
        Assert.True(o.GetProperty("value").GetDouble() <= o.GetProperty("max").GetDouble(), $"median > max in: {line}");
    }
}

using System.Diagnostics;
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
    // Build (cold: ~40 s on 2 cores, over 2 min with two CPU burners and the other tests) plus the quick scenario (~5 s).
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(300);

    [Theory]
    [Trait("Category", "Bench")]
    [InlineData("local-pingpong")]
    [InlineData("selective-recv")] // queues past the default queue limit: failed with QueueFullException unnoticed
    public async Task QuickJsonScenarioPrintsOneValidObjectPerLine(string scenario)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            WorkingDirectory = Built.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])["run", "-c", "Release", "--project", Path.Combine("bench", "River.Bench"), "--", "--quick", "--json", "--filter", scenario])
            start.ArgumentList.Add(a);

        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"River.Bench did not finish within {Limit.TotalSeconds:0} s; killed. stderr:\n{await stderr}");
        }

        var output = await stdout;
        Assert.True(process.ExitCode == 0, $"River.Bench exited with {process.ExitCode}. stderr:\n{await stderr}\nstdout:\n{output}");
        var lines = output.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        if (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        Assert.NotEmpty(lines);
        foreach (var line in lines) CheckResult(line, scenario);
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

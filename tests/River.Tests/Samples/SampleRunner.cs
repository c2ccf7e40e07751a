using System.Diagnostics;

namespace River.Tests.Samples;

/// <summary>What a sample printed and how it ended.</summary>
public sealed record SampleOutput(int ExitCode, string Stdout, string Stderr)
{
    public IReadOnlyList<string> Lines { get; } = Stdout.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Fails with the whole output unless the sample exited with 0.</summary>
    public void AssertSucceeded() => Assert.True(ExitCode == 0, $"exit code {ExitCode}\n{this}");

    /// <summary>The rest of the one line starting with <paramref name="prefix"/>.</summary>
    public string After(string prefix)
    {
        var matching = Lines.Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        Assert.True(matching.Count == 1, $"expected one line starting with '{prefix}', found {matching.Count}\n{this}");
        return matching[0][prefix.Length..];
    }

    public override string ToString() => $"stdout:\n{Stdout}\nstderr:\n{Stderr}";
}

/// <summary>
/// Runs a built sample as its own process (<c>dotnet Sample.dll args</c>), capturing its output.
/// A run that outlives its timeout, or is disposed while running, is killed with its process tree.
/// </summary>
public sealed class SampleRunner : IDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly Task<string> _stdout, _stderr;

    private SampleRunner(string sample, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(DllOf(sample));
        foreach (var a in args) start.ArgumentList.Add(a);
        // River reads its cluster settings from RIVER_* variables too; the run must see only its arguments.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("RIVER_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(name);
        _process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {start.FileName}");
        _stdout = _process.StandardOutput.ReadToEndAsync();
        _stderr = _process.StandardError.ReadToEndAsync();
    }

    public static SampleRunner Start(string sample, params string[] args) => new(sample, args);

    /// <summary>Runs <paramref name="sample"/> to its end under <see cref="DefaultTimeout"/>.</summary>
    public static async Task<SampleOutput> RunAsync(string sample, params string[] args)
    {
        using var runner = Start(sample, args);
        return await runner.WaitAsync(DefaultTimeout);
    }

    /// <summary>Waits for the exit; on timeout kills the process tree and throws <see cref="TimeoutException"/> with what it printed.</summary>
    public async Task<SampleOutput> WaitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
            throw new TimeoutException($"the sample ran longer than {timeout} and was killed\nstdout:\n{await _stdout}\nstderr:\n{await _stderr}");
        }
        return new SampleOutput(_process.ExitCode, await _stdout, await _stderr);
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    private void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>
    /// The sample's dll. The test project references every sample, so each is built with this
    /// assembly's configuration and framework and its output sits at the same place under samples/.
    /// </summary>
    private static string DllOf(string sample)
    {
        var output = new DirectoryInfo(AppContext.BaseDirectory);   // .../bin/<Configuration>/<framework>/
        var framework = output.Name;
        var configuration = output.Parent!.Name;
        var root = output;
        while (!File.Exists(Path.Combine(root.FullName, "River.slnx")))
            root = root.Parent ?? throw new DirectoryNotFoundException($"no River.slnx above {AppContext.BaseDirectory}");
        var dll = Path.Combine(root.FullName, "samples", sample, "bin", configuration, framework, sample + ".dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"sample {sample} is not built; the test project should reference it", dll);
    }
}

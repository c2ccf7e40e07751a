using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace River.Tests;

/// <summary>What a process printed and how it ended.</summary>
public sealed record ProcessOutput(int ExitCode, string Stdout, string Stderr)
{
    public IReadOnlyList<string> Lines { get; } = Stdout.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Fails with the whole output unless the process exited with 0.</summary>
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
/// A child process of a test (usually <c>dotnet Some.dll args</c>) whose output is captured line by
/// line while it runs. It is killed with its process tree on timeout or dispose; every child still
/// running when the test host exits is killed too, and on Linux a child runs under
/// <c>timeout -s KILL</c>, so it dies even if the test host itself is killed.
/// </summary>
public sealed class ChildProcess : IDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan LifetimeCap = TimeSpan.FromMinutes(5);
    private static readonly string? TimeoutTool = OperatingSystem.IsLinux() && File.Exists("/usr/bin/timeout") ? "/usr/bin/timeout" : null;
    private static readonly ConcurrentDictionary<ChildProcess, bool> Running = new();

    private readonly Process _process;
    private readonly OutputLines _stdout, _stderr;

    static ChildProcess() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var child in Running.Keys) child.Kill();
    };

    private ChildProcess(string file, IEnumerable<string> args, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? lifetime = null)
    {
        var start = new ProcessStartInfo(TimeoutTool ?? file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? "",
        };
        if (TimeoutTool is not null)
        {
            foreach (var a in new[] { "-s", "KILL", $"{(lifetime ?? LifetimeCap).TotalSeconds:0}", file }) start.ArgumentList.Add(a);
        }
        foreach (var a in args) start.ArgumentList.Add(a);
        // River reads its cluster settings from RIVER_* variables too; the run must see only its arguments.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("RIVER_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(name);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        _process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {start.FileName}");
        Running[this] = true;
        _stdout = new OutputLines(_process.StandardOutput);
        _stderr = new OutputLines(_process.StandardError);
    }

    /// <summary>The <c>dotnet</c> host running the tests.</summary>
    public static string DotnetHost { get; } = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";

    /// <summary>Starts <c>dotnet <paramref name="dll"/> args</c>.</summary>
    public static ChildProcess Dotnet(string dll, IEnumerable<string> args, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null) =>
        new(DotnetHost, [dll, .. args], workingDirectory, environment);

    /// <summary>
    /// Starts any executable, optionally in <paramref name="workingDirectory"/> with extra <paramref name="environment"/> variables.
    /// It is killed after <paramref name="lifetime"/> (default 5 min) even if the test host dies; a build may need longer.
    /// </summary>
    public static ChildProcess Start(string file, IEnumerable<string> args, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? lifetime = null) =>
        new(file, args, workingDirectory, environment, lifetime);

    /// <summary>Starts a built sample (see <see cref="Built.Sample"/>).</summary>
    public static ChildProcess Sample(string sample, params string[] args) => Dotnet(Built.Sample(sample), args);

    /// <summary>Runs <paramref name="sample"/> to its end under <see cref="DefaultTimeout"/>.</summary>
    public static async Task<ProcessOutput> RunSampleAsync(string sample, params string[] args)
    {
        using var child = Sample(sample, args);
        return await child.WaitAsync(DefaultTimeout);
    }

    public int Pid => _process.Id;

    /// <summary>The program's own process id: under the timeout wrapper, the wrapper's child (once started).</summary>
    public int ProgramPid => TimeoutTool is null ? _process.Id : Descendants(_process.Id).First();

    public bool HasExited => _process.HasExited;

    /// <summary>The lines printed on stdout / stderr so far.</summary>
    public IReadOnlyList<string> StdoutLines => _stdout.Snapshot();

    public IReadOnlyList<string> StderrLines => _stderr.Snapshot();

    /// <summary>The first stdout line matching <paramref name="match"/>; fails when the process ends or <paramref name="timeout"/> passes first.</summary>
    public Task<string> WaitForStdoutAsync(Func<string, bool> match, TimeSpan timeout) => WaitForLineAsync(_stdout, "stdout", match, timeout);

    public Task<string> WaitForStderrAsync(Func<string, bool> match, TimeSpan timeout) => WaitForLineAsync(_stderr, "stderr", match, timeout);

    /// <summary>Waits for the exit; on timeout kills the process tree and throws <see cref="TimeoutException"/> with what it printed.</summary>
    public async Task<ProcessOutput> WaitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
            throw new TimeoutException($"{_process.StartInfo.FileName} ran longer than {timeout} and was killed\n{await OutputAsync()}");
        }
        return await OutputAsync();
    }

    /// <summary>Asks the process to stop (SIGTERM, so it can clean up), then kills its tree after <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_process.HasExited) return;
        if (OperatingSystem.IsLinux()) _ = SendSignal(_process.Id, Sigterm);
        using var cancel = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
        }
    }

    public const int Sigstop = 19, Sigcont = 18;

    /// <summary>Sends <paramref name="signal"/> to the process and every descendant (e.g. SIGSTOP / SIGCONT to pause a VM); Linux only.</summary>
    public void SignalTree(int signal)
    {
        foreach (var pid in Descendants(_process.Id).Prepend(_process.Id)) _ = SendSignal(pid, signal);
    }

    private static IEnumerable<int> Descendants(int pid)
    {
        var tasks = Directory.Exists($"/proc/{pid}/task") ? Directory.GetDirectories($"/proc/{pid}/task") : [];
        foreach (var task in tasks)
        {
            string children;
            try
            {
                children = File.ReadAllText(Path.Combine(task, "children"));
            }
            catch (IOException)
            {
                continue; // the thread ended
            }
            foreach (var child in children.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse))
                foreach (var pidBelow in Descendants(child).Prepend(child)) yield return pidBelow;
        }
    }

    /// <summary>SIGKILL to the whole process tree, at once; waits until it is gone.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        catch (InvalidOperationException)
        {
            // never started or already reaped
        }
        Running.TryRemove(this, out _);
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    public override string ToString() => $"stdout:\n{string.Join('\n', _stdout.Snapshot())}\nstderr:\n{string.Join('\n', _stderr.Snapshot())}";

    private async Task<ProcessOutput> OutputAsync()
    {
        // The pipes close when the process and any child holding them are gone.
        var drained = Task.WhenAll(_stdout.Completion, _stderr.Completion);
        await Task.WhenAny(drained, Task.Delay(TimeSpan.FromSeconds(5)));
        return new ProcessOutput(_process.HasExited ? _process.ExitCode : -1, _stdout.Text(), _stderr.Text());
    }

    private async Task<string> WaitForLineAsync(OutputLines lines, string stream, Func<string, bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var seen = 0;
        while (true)
        {
            var (snapshot, changed, ended) = lines.Watch();
            for (; seen < snapshot.Count; seen++)
                if (match(snapshot[seen])) return snapshot[seen];
            var left = deadline - DateTime.UtcNow;
            if (ended) throw new InvalidOperationException($"{stream} ended without the expected line\n{this}");
            if (left <= TimeSpan.Zero) throw new TimeoutException($"no expected line on {stream} within {timeout}\n{this}");
            await Task.WhenAny(changed, Task.Delay(left));
        }
    }

    private const int Sigterm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    /// <summary>One output stream, read line by line as it comes.</summary>
    private sealed class OutputLines
    {
        private readonly Lock _lock = new();
        private readonly List<string> _lines = [];
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private bool _ended;

        // A thread of its own (LongRunning), not the pool: when the test host's pool is busy, a pool
        // reader may not run for seconds, and a child that exited would seem to have printed nothing.
        public OutputLines(StreamReader reader) => Completion = Task.Factory.StartNew(() =>
        {
            while (reader.ReadLine() is { } line)
            {
                TaskCompletionSource changed;
                lock (_lock)
                {
                    _lines.Add(line);
                    changed = _changed;
                    _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
                }
                changed.TrySetResult();
            }
            lock (_lock)
            {
                _ended = true;
                _changed.TrySetResult();
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        public Task Completion { get; }

        public IReadOnlyList<string> Snapshot()
        {
            lock (_lock) return [.. _lines];
        }

        /// <summary>The lines so far, a task that completes when more come, and whether the stream has ended.</summary>
        public (IReadOnlyList<string> Lines, Task Changed, bool Ended) Watch()
        {
            lock (_lock) return ([.. _lines], _changed.Task, _ended);
        }

        public string Text()
        {
            lock (_lock) return _lines.Count == 0 ? "" : string.Join('\n', _lines) + "\n";
        }
    }
}

/// <summary>
/// Where the programs the tests run are built. The test project references each of them, so they are
/// built with this assembly's configuration and framework, and their output sits at the same place.
/// </summary>
public static class Built
{
    private static readonly DirectoryInfo Output = new(AppContext.BaseDirectory);   // .../bin/<Configuration>/<framework>/

    public static string Configuration => Output.Parent!.Name;

    public static string Framework => Output.Name;

    /// <summary>The folder holding River.slnx.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The <c>river</c> command (River.Cli.dll).</summary>
    public static string RiverCli => Dll(Path.Combine("src", "River.Cli"), "River.Cli");

    public static string Sample(string sample) => Dll(Path.Combine("samples", sample), sample);

    /// <summary>A project's dll under <c>bin/[variant/]Configuration/framework</c> (fixtures build variants to bin/v1, bin/v2).</summary>
    public static string Dll(string project, string name, string? variant = null)
    {
        var bin = Path.Combine(Root, project, "bin");
        if (variant is not null) bin = Path.Combine(bin, variant);
        var dll = Path.Combine(bin, Configuration, Framework, name + ".dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"{name} is not built; the test project should reference {project}", dll);
    }

    private static string FindRoot()
    {
        var dir = Output;
        while (!File.Exists(Path.Combine(dir.FullName, "River.slnx")))
            dir = dir.Parent ?? throw new DirectoryNotFoundException($"no River.slnx above {AppContext.BaseDirectory}");
        return dir.FullName;
    }
}

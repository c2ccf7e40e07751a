using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using RegexMatch = System.Text.RegularExpressions.Match;

namespace River.Bench.Remote;

/// <summary>
/// A process a scenario starts: a <c>river vm</c>, or this bench binary in one of its hidden server
/// modes. Its output lines (stdout and stderr) are kept with the time each arrived, so a scenario can
/// wait for a line or time one. It is killed with its children when disposed, and every one still
/// running is killed when the bench exits, is interrupted (Ctrl-C, SIGTERM) or fails. The bench's own
/// server modes also exit when their stdin closes, i.e. when the bench is gone whatever killed it.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    private static readonly ConcurrentDictionary<ChildProcess, byte> Running = new();
    private static readonly List<IDisposable> SignalHandlers = [];

    private readonly Process _process;
    private readonly List<Line> _lines = [];
    private readonly string? _ownedDirectory;
    private int _disposed;

    static ChildProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
        AppDomain.CurrentDomain.UnhandledException += (_, _) => KillAll();
        // Kill the children, then let the signal end the bench as it would have.
        SignalHandlers.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => KillAll()));
        SignalHandlers.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => KillAll()));
    }

    /// <summary>One line of output (stdout or stderr) and when it arrived (Stopwatch timestamp).</summary>
    public readonly record struct Line(long At, string Text);

    private ChildProcess(string name, ProcessStartInfo start, string? ownedDirectory)
    {
        Name = name;
        _ownedDirectory = ownedDirectory;
        start.RedirectStandardOutput = start.RedirectStandardError = start.RedirectStandardInput = true;
        start.UseShellExecute = false;
        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => Add(e.Data);
        _process.ErrorDataReceived += (_, e) => Add(e.Data);
        _process.Exited += (_, _) =>
        {
            lock (_lines) Monitor.PulseAll(_lines);
        };
        Running[this] = 0;
        try
        {
            _process.Start();
        }
        catch
        {
            Running.TryRemove(this, out _);
            DeleteOwnedDirectory();
            throw;
        }
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Name { get; }

    /// <summary>The process's id.</summary>
    public int Id => _process.Id;

    public const int Sigstop = 19, Sigcont = 18, Sigkill = 9;

    /// <summary>Sends <paramref name="signal"/> (SIGSTOP, SIGCONT, SIGKILL) to the process; Linux only.</summary>
    public void Signal(int signal)
    {
        if (SendSignal(_process.Id, signal) != 0) throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    /// <summary>Starts this bench binary in a hidden server mode, e.g. <c>--serve-raw 0</c>.</summary>
    public static ChildProcess Bench(string name, params string[] args) => Bench(name, null, args);

    /// <summary>Starts this bench binary with <paramref name="environment"/> added to its own (and its children's).</summary>
    public static ChildProcess Bench(string name, IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        Dotnet(name, typeof(ChildProcess).Assembly.Location, args, null, environment);

    /// <summary>
    /// Starts this bench binary as a program built against River's package runs: with the runtime settings the package
    /// gives every program (<c>src/River/buildTransitive/River.props</c>, embedded by the bench's build as
    /// <c>RiverRuntimeDefaults</c>) over the bench's own runtimeconfig, through <c>dotnet exec --runtimeconfig</c>.
    /// </summary>
    public static ChildProcess BenchAsRiverProgram(string name, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var self = typeof(ChildProcess).Assembly.Location;
        var config = JsonNode.Parse(File.ReadAllText(Path.ChangeExtension(self, ".runtimeconfig.json")))!;
        var properties = config["runtimeOptions"]!["configProperties"]!.AsObject();
        var defaults = Embedded("RiverRuntimeDefaults") ?? throw new InvalidOperationException("The bench's build did not embed River's runtime settings; build bench/River.Bench again.");
        foreach (var setting in defaults.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var (key, value) = setting.Split('=', 2) is [var k, var v] ? (k, v) : throw new FormatException($"River's runtime setting '{setting}' is not name=value.");
            properties[key] = bool.TryParse(value, out var flag) ? JsonValue.Create(flag)
                : long.TryParse(value, CultureInfo.InvariantCulture, out var number) ? JsonValue.Create(number) : JsonValue.Create(value);
        }
        var temp = Directory.CreateTempSubdirectory("river-bench-program-").FullName;
        var path = Path.Combine(temp, "River.Bench.runtimeconfig.json");
        File.WriteAllText(path, config.ToJsonString());
        return Dotnet(name, self, args, temp, environment, ["exec", "--runtimeconfig", path]);
    }

    /// <summary>
    /// Starts <c>river vm</c> (River.Cli, built next to the bench) with its own temp folder: TMPDIR
    /// points there, so its code cache (river-code under the temp folder; the CLI has no flag for it)
    /// starts empty and nothing is left behind.
    /// </summary>
    public static ChildProcess RiverVm(string name, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var temp = Directory.CreateTempSubdirectory("river-bench-vm-").FullName;
        return Dotnet(name, Built("RiverCli"), ["vm", .. args], temp, environment);
    }

    /// <summary>Starts the Heat sample (built with the bench) as a program of its own, with its own temp folder and <paramref name="environment"/>.</summary>
    public static ChildProcess Heat(string name, IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        Dotnet(name, Built("Heat"), args, Directory.CreateTempSubdirectory("river-bench-heat-").FullName, environment);

    /// <summary>A program in its build output, River.Cli or Heat (the bench's build embeds their paths).</summary>
    private static string Built(string program) =>
        Embedded(program) is { Length: > 0 } path && File.Exists(path)
            ? path
            : throw new FileNotFoundException($"{program}.dll was not found where the bench's build said it is; build bench/River.Bench again.");

    /// <summary>A value the bench's build embedded as <see cref="AssemblyMetadataAttribute"/> <paramref name="key"/>, or null.</summary>
    private static string? Embedded(string key) =>
        typeof(ChildProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value;

    private static ChildProcess Dotnet(string name, string dll, string[] args, string? tempDirectory, IReadOnlyDictionary<string, string>? environment = null, string[]? hostArgs = null)
    {
        var start = new ProcessStartInfo(DotnetHost());
        foreach (var a in hostArgs ?? []) start.ArgumentList.Add(a);
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        if (tempDirectory is not null) start.Environment["TMPDIR"] = tempDirectory;
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) start.Environment[k] = v;
        return new ChildProcess(name, start, tempDirectory);
    }

    /// <summary>The dotnet host running this process (also under <c>dotnet run</c>, where the bench runs from its apphost).</summary>
    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)) return host;
        if (Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet") return self;
        // <root>/shared/Microsoft.NETCore.App/<version>/ → <root>/dotnet
        var root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        var candidate = Path.Combine(root, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
        return File.Exists(candidate) ? candidate : "dotnet";
    }

    /// <summary>Waits for an output line matching <paramref name="pattern"/>; fails if the process exits or the time runs out.</summary>
    public RegexMatch WaitFor(Regex pattern, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var seen = 0;
        while (true)
        {
            var exited = HasExited;
            if (exited) _process.WaitForExit(); // its last lines, which may still be on their way, are scanned too
            lock (_lines)
            {
                for (; seen < _lines.Count; seen++)
                    if (pattern.Match(_lines[seen].Text) is { Success: true } m) return m;
                var left = deadline - Stopwatch.GetTimestamp();
                if (!exited && left > 0)
                {
                    Monitor.Wait(_lines, TimeSpan.FromSeconds(Math.Min(0.25, (double)left / Stopwatch.Frequency)));
                    continue;
                }
                if (!exited) throw new TimeoutException($"{Name} did not print /{pattern}/ within {timeout.TotalSeconds:0} s. Its output:\n{Tail()}");
            }
            throw Exited($"before printing /{pattern}/");
        }
    }

    /// <summary>The lines so far.</summary>
    public Line[] Lines()
    {
        lock (_lines) return [.. _lines];
    }

    /// <summary>Fails when the process has exited (for callers that poll <see cref="Lines"/>).</summary>
    public void CheckAlive()
    {
        if (HasExited) throw Exited("");
    }

    /// <summary>CPU time the process has used so far, user and system.</summary>
    public TimeSpan ProcessorTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>The "port" group of the first line matching <paramref name="pattern"/>, as a port number (servers print where they listen).</summary>
    public int WaitForPort(Regex pattern, TimeSpan timeout) => int.Parse(WaitFor(pattern, timeout).Groups["port"].Value, System.Globalization.CultureInfo.InvariantCulture);

    public bool HasExited
    {
        get
        {
            try
            {
                return _process.HasExited;
            }
            catch (InvalidOperationException)
            {
                return true;
            }
        }
    }

    private InvalidOperationException Exited(string when)
    {
        _process.WaitForExit(); // the rest of its output
        return new InvalidOperationException($"{Name} exited (code {_process.ExitCode}) {when}. Its output:\n{Tail()}");
    }

    private void Add(string? text)
    {
        if (text is null) return;
        lock (_lines)
        {
            _lines.Add(new Line(Stopwatch.GetTimestamp(), text));
            Monitor.PulseAll(_lines);
        }
    }

    private string Tail()
    {
        lock (_lines) return string.Join('\n', _lines.TakeLast(20).Select(l => "  " + l.Text));
    }

    /// <summary>Kills the process and its children and waits for them; removes its temp folder.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Running.TryRemove(this, out _);
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // already gone
        }
        _process.Dispose();
        DeleteOwnedDirectory();
    }

    private void DeleteOwnedDirectory()
    {
        if (_ownedDirectory is null) return;
        try
        {
            Directory.Delete(_ownedDirectory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // a temp folder; not worth failing a run for
        }
    }

    /// <summary>Kills every child still running.</summary>
    public static void KillAll()
    {
        foreach (var p in Running.Keys) p.Dispose();
    }

    /// <summary>Disposes all of <paramref name="processes"/>, at once (each waits for its own exit).</summary>
    public static void DisposeAll(IEnumerable<ChildProcess?> processes) =>
        Parallel.ForEach(processes.OfType<ChildProcess>(), p => p.Dispose());
}

using System.Text.RegularExpressions;

namespace River.Tests.Cluster;

/// <summary>
/// One <c>river vm</c> process on loopback. It listens on <c>--port 0</c> (the OS picks a free port, so
/// there is nothing to race for or retry) and reports the port on its "listening" line, which
/// <c>StartAsync</c> waits for. Multicast is off unless asked for: VMs find each other through seeds only.
/// Every VM carries the attribute role=vm, which tells VM processes apart from the VMs of programs.
/// Disposing kills the process tree.
/// </summary>
public sealed partial class VmProcess : IDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly ChildProcess _process;
    private bool _paused;

    private VmProcess(ChildProcess process, string id, int port)
    {
        _process = process;
        Id = id;
        Port = port;
    }

    /// <summary>The VM's id (a UUID), as status and logs show it.</summary>
    public string Id { get; }

    public int Port { get; }

    /// <summary>host:port, for <c>--seeds</c>.</summary>
    public string Address => $"127.0.0.1:{Port}";

    public bool HasExited => _process.HasExited;

    /// <summary>The VM's process id (<c>dotnet River.Cli.dll</c>, not a wrapper around it).</summary>
    public int Pid => _process.ProgramPid;

    /// <summary>The VM's resident set size now, in bytes (VmRSS of /proc/PID/status).</summary>
    public long RssBytes() => Security.ProcStatus.Read(Pid, "VmRSS") * 1024;

    public IReadOnlyList<string> StderrLines => _process.StderrLines;

    /// <summary>
    /// Starts a VM of <paramref name="cluster"/> that joins through <paramref name="seeds"/> and returns
    /// once it listens (and, with seeds, has joined). <paramref name="extra"/> goes to <c>river vm</c> as is.
    /// </summary>
    public static Task<VmProcess> StartAsync(TestCluster cluster, IEnumerable<VmProcess>? seeds = null, params string[] extra) =>
        StartAsync(cluster, seeds, multicast: false, extra);

    /// <summary>As <see cref="StartAsync(TestCluster, IEnumerable{VmProcess}?, string[])"/>, with multicast on when <paramref name="multicast"/> (it listens on UDP port 47077).</summary>
    public static async Task<VmProcess> StartAsync(TestCluster cluster, IEnumerable<VmProcess>? seeds, bool multicast, params string[] extra)
    {
        var seedList = string.Join(',', (seeds ?? []).Select(s => s.Address));
        string[] args = ["vm", "--port", "0", .. (multicast ? Array.Empty<string>() : ["--no-multicast"]), "--attr", "role=vm", .. cluster.Args, .. extra];
        if (seedList.Length > 0) args = [.. args, "--seeds", seedList];
        return await StartAsync(args);
    }

    /// <summary>Starts <c>river vm</c> with exactly <paramref name="args"/> (<c>vm</c> first), in <paramref name="workingDirectory"/> with <paramref name="environment"/>.</summary>
    public static Task<VmProcess> StartAsync(IEnumerable<string> args, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null) =>
        ListeningAsync(ChildProcess.Dotnet(Built.RiverCli, args, workingDirectory, environment));

    /// <summary>Starts <c>river vm</c> from <paramref name="executable"/>, a river that runs by itself (its self-contained Host build), with exactly <paramref name="args"/>.</summary>
    public static Task<VmProcess> StartExecutableAsync(string executable, IEnumerable<string> args) =>
        ListeningAsync(ChildProcess.Start(executable, args));

    /// <summary>Starts <c>river vm</c> with <paramref name="args"/> through <paramref name="wrapper"/>, a command that runs the command after it (e.g. <c>unshare</c>).</summary>
    public static Task<VmProcess> StartWrappedAsync(string[] wrapper, IEnumerable<string> args) =>
        ListeningAsync(ChildProcess.Start(wrapper[0], [.. wrapper[1..], ChildProcess.DotnetHost, Built.RiverCli, .. args]));

    private static async Task<VmProcess> ListeningAsync(ChildProcess process)
    {
        try
        {
            var match = Listening().Match(await process.WaitForStdoutAsync(l => Listening().IsMatch(l), StartTimeout));
            return new VmProcess(process, match.Groups["id"].Value, int.Parse(match.Groups["port"].Value));
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    /// <summary>Starts <paramref name="count"/> VMs: the first alone, the others seeded with it.</summary>
    public static async Task<List<VmProcess>> StartManyAsync(TestCluster cluster, int count)
    {
        var first = await StartAsync(cluster);
        var others = Enumerable.Range(1, count - 1).Select(_ => StartAsync(cluster, [first])).ToList();
        try
        {
            return [first, .. await Task.WhenAll(others)];
        }
        catch
        {
            first.Dispose();
            foreach (var o in others.Where(o => o.IsCompletedSuccessfully)) o.Result.Dispose();
            throw;
        }
    }

    /// <summary>The first stderr (log) line containing <paramref name="text"/>, waiting up to <paramref name="timeout"/>.</summary>
    public Task<string> WaitForLogAsync(string text, TimeSpan timeout) =>
        _process.WaitForStderrAsync(l => l.Contains(text, StringComparison.Ordinal), timeout);

    /// <summary>SIGKILL: the VM gets no chance to say goodbye.</summary>
    public void Kill() => _process.Kill();

    /// <summary>SIGTERM, as a service manager stops it; waits up to <paramref name="grace"/> for it to exit, then kills it.</summary>
    public async Task<int> TerminateAsync(TimeSpan grace)
    {
        await _process.StopAsync(grace);
        return (await _process.WaitAsync(grace)).ExitCode;
    }

    /// <summary>SIGSTOP / SIGCONT: the VM freezes as in a long GC pause or under swapping, then goes on.</summary>
    public void Pause()
    {
        _paused = true;
        _process.SignalTree(ChildProcess.Sigstop);
    }

    public void Resume()
    {
        if (!_paused || _process.HasExited) return;
        _process.SignalTree(ChildProcess.Sigcont);
        _paused = false;
    }

    public void Dispose()
    {
        Resume(); // a stopped tree dies of SIGKILL too, but wake it so nothing lingers stopped
        _process.Dispose();
    }

    public override string ToString() => $"VM {Id} at {Address}\n{_process}";

    [GeneratedRegex(@"^River VM (?<id>[0-9a-f-]{36}) listening on (?<host>\S+):(?<port>\d+) in cluster")]
    private static partial Regex Listening();
}

/// <summary>Disposes every VM of a list (tests hold their VMs in one).</summary>
public static class VmProcessList
{
    public static void DisposeAll(this IEnumerable<VmProcess> vms)
    {
        foreach (var vm in vms) vm.Dispose();
    }

    /// <summary>The <c>--seeds</c> value naming every VM of the list.</summary>
    public static string Seeds(this IEnumerable<VmProcess> vms) => string.Join(',', vms.Select(v => v.Address));
}

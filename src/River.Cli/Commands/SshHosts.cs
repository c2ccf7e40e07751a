using System.CommandLine;
using System.Diagnostics;
using System.Net;

namespace River.Cli.Commands;

/// <summary>
/// One line of a hosts file for <c>river up</c>/<c>river down</c>: <c>user@host[:sshport] [river vm options]</c>.
/// The VM listens on <see cref="Bind"/>:<see cref="Port"/> (its own --bind/--port, else the host's address and 7700).
/// </summary>
internal sealed record SshHost(string Destination, int? SshPort, string Bind, int Port, IReadOnlyList<string> VmOptions)
{
    /// <summary>The VM's pid file in the remote run folder; bind and port name it, so hosts sharing a file system do not collide.</summary>
    public string PidFile => $"vm-{Bind}-{Port}.pid";

    /// <summary>The hosts of <paramref name="path"/>: one per line; blank lines and lines starting with '#' are skipped.</summary>
    public static IReadOnlyList<SshHost> Read(string path)
    {
        var hosts = new List<SshHost>();
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            var tokens = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (tokens.Length == 0 || tokens[0].StartsWith('#')) continue;
            try
            {
                hosts.Add(Parse(tokens));
            }
            catch (FormatException e)
            {
                throw new FormatException($"{path}:{number}: {e.Message}");
            }
        }
        return hosts.Count > 0 ? hosts : throw new FormatException($"{path} names no host.");
    }

    private static SshHost Parse(string[] tokens)
    {
        var destination = tokens[0];
        int? sshPort = null;
        var colon = destination.LastIndexOf(':');
        if (colon >= 0)
        {
            sshPort = int.TryParse(destination[(colon + 1)..], out var p) && p is > 0 and < 65536
                ? p : throw new FormatException($"'{destination}' has no valid ssh port after ':'.");
            destination = destination[..colon];
        }
        var address = destination[(destination.IndexOf('@') + 1)..];
        if (address.Length == 0) throw new FormatException($"'{tokens[0]}' names no host.");
        var options = tokens[1..];
        var bind = Value(options, "--bind") ?? (IPAddress.TryParse(address, out _)
            ? address : throw new FormatException($"'{address}' is not an IP address: give the VM's address with --bind."));
        var port = Value(options, "--port") ?? "7700";
        return new SshHost(destination, sshPort, bind,
            int.TryParse(port, out var vmPort) && vmPort is > 0 and < 65536 ? vmPort : throw new FormatException($"--port takes a port number, not '{port}'."),
            options);
    }

    private static string? Value(string[] options, string name)
    {
        var i = Array.IndexOf(options, name);
        return i < 0 ? null : i + 1 < options.Length ? options[i + 1] : throw new FormatException($"{name} has no value.");
    }

    /// <summary>Quotes <paramref name="word"/> for the remote POSIX shell.</summary>
    public static string Quote(string word) => "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}

/// <summary>The options <c>river up</c> and <c>river down</c> share, and the ssh client they run.</summary>
internal sealed class SshArguments
{
    public Option<FileInfo> Hosts { get; } = new("--hosts") { Description = "The hosts file: one 'user@host[:sshport] [river vm options]' a line.", Required = true };
    public Option<FileInfo?> Identity { get; } = new("--identity", "-i") { Description = "The ssh private key (ssh -i); else ssh's own defaults." };
    public Option<FileInfo?> KnownHosts { get; } = new("--known-hosts") { Description = "Accept only host keys in this known_hosts file; else ssh accepts a new host's key on first contact (accept-new)." };
    public Option<string> RunDir { get; } = new("--run-dir") { Description = "The remote folder for the VMs' pid files and logs.", DefaultValueFactory = _ => ".river/run" };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Hosts, Identity, KnownHosts, RunDir }) command.Options.Add(o);
    }

    /// <summary>
    /// Runs <paramref name="script"/> with sh on <paramref name="host"/> (key auth only: BatchMode) and returns its exit
    /// code, its output lines prefixed with the host going to our stdout and stderr.
    /// </summary>
    public async Task<int> RunAsync(ParseResult parse, SshHost host, string script, CancellationToken cancel)
    {
        var start = new ProcessStartInfo("ssh") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in new[] { "-o", "BatchMode=yes", "-o", "ConnectTimeout=15" }) start.ArgumentList.Add(a);
        if (parse.GetValue(KnownHosts) is { } known)
        {
            foreach (var a in new[] { "-o", "StrictHostKeyChecking=yes", "-o", $"UserKnownHostsFile={known.FullName}" }) start.ArgumentList.Add(a);
        }
        else
        {
            foreach (var a in new[] { "-o", "StrictHostKeyChecking=accept-new" }) start.ArgumentList.Add(a);
        }
        if (parse.GetValue(Identity) is { } key)
        {
            foreach (var a in new[] { "-i", key.FullName, "-o", "IdentitiesOnly=yes" }) start.ArgumentList.Add(a);
        }
        if (host.SshPort is { } port)
        {
            start.ArgumentList.Add("-p");
            start.ArgumentList.Add($"{port}");
        }
        start.ArgumentList.Add(host.Destination);
        // The login shell may not be sh: the script runs under sh whatever it is.
        start.ArgumentList.Add("exec sh -c " + SshHost.Quote(script));
        using var ssh = Process.Start(start) ?? throw new InvalidOperationException("ssh could not be started");
        ssh.StandardInput.Close();
        var prefix = $"{host.Destination}: ";
        await Task.WhenAll(
            Relay(ssh.StandardOutput, Console.Out, prefix),
            Relay(ssh.StandardError, Console.Error, prefix),
            ssh.WaitForExitAsync(cancel));
        return ssh.ExitCode;
    }

    private static async Task Relay(StreamReader from, TextWriter to, string prefix)
    {
        while (await from.ReadLineAsync() is { } line) await to.WriteLineAsync(prefix + line);
    }

    /// <summary>
    /// Runs <paramref name="script"/> on every host at once (or on the first, then the others at once, with
    /// <paramref name="firstAlone"/>); 0 when it succeeded on each, else 1.
    /// </summary>
    public async Task<int> RunAllAsync(ParseResult parse, Func<SshHost, int, string> script, string what, bool firstAlone, CancellationToken cancel)
    {
        IReadOnlyList<SshHost> hosts;
        try
        {
            hosts = SshHost.Read(parse.GetValue(Hosts)!.FullName);
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"river: {e.Message}");
            return 2;
        }
        var first = firstAlone ? [await RunAsync(parse, hosts[0], script(hosts[0], 0), cancel)] : Array.Empty<int>();
        if (first is [not 0])
        {
            // The others would have no seed to join.
            await Console.Error.WriteLineAsync($"river: {what} failed on {hosts[0].Destination}; the other hosts were left alone");
            return 1;
        }
        int[] codes = [.. first, .. await Task.WhenAll(hosts.Skip(first.Length).Select((h, i) => RunAsync(parse, h, script(h, first.Length + i), cancel)))];
        var failed = hosts.Where((_, i) => codes[i] != 0).Select(h => h.Destination).ToList();
        if (failed.Count > 0) await Console.Error.WriteLineAsync($"river: {what} failed on {string.Join(", ", failed)}");
        return failed.Count == 0 ? 0 : 1;
    }
}

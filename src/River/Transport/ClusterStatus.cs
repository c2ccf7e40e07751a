namespace River;

/// <summary>
/// Asks a cluster's VMs for their <see cref="VmStatus"/> from outside, as a tool does (<c>river status</c>,
/// <c>river dashboard</c>): the connection authenticates with the cluster's options but never becomes a member.
/// </summary>
/// <example><code>
/// foreach (var vm in ClusterStatus.Collect(["10.0.0.1:7700"], new ClusterOptions { Name = "lab", Key = key }))
///     Console.WriteLine($"{vm.Vm.Id}: {vm.Vrs.Count} VRs");
/// </code></example>
public static class ClusterStatus
{
    /// <summary>The status of the VM listening at <paramref name="host"/>:<paramref name="port"/>.</summary>
    /// <exception cref="IOException">
    /// The VM cannot be reached, refused the connection, answered nonsense, or did not connect, authenticate or
    /// answer within <see cref="ClusterOptions.HandshakeTimeout"/> (each step); the message starts with its address.
    /// </exception>
    public static VmStatus Ask(string host, int port, ClusterOptions options)
    {
        using var client = ClusterClient.Connect(host, port, options);
        return client.Ask<StatusReply>(new StatusRequest()).Status;
    }

    /// <summary>
    /// The status of every VM reachable from <paramref name="addresses"/> (<c>host:port</c>): those VMs, then every
    /// member they name, each asked once, all of a round at the same time, each on a thread of its own (an ask
    /// blocks; the thread pool would start them one by one). A VM that cannot be asked within the bounds of
    /// <see cref="Ask"/> is left out and reported to <paramref name="unreachable"/> with its address (the error's
    /// message starts with it too), so the whole takes at most about three handshake timeouts per round of members
    /// newly named (per 64 of them).
    /// </summary>
    public static IReadOnlyList<VmStatus> Collect(IEnumerable<string> addresses, ClusterOptions options, Action<string, IOException>? unreachable = null)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var found = new Dictionary<VmId, VmStatus>();
        var asked = new HashSet<string>();
        var wave = addresses.Where(asked.Add).ToList();
        while (wave.Count > 0)
        {
            var answers = wave.Chunk(MaxAsking).SelectMany(chunk => AskAll(chunk, options)).ToList();
            for (var i = 0; i < wave.Count; i++)
            {
                if (answers[i].Status is { } status) found[status.Vm.Id] = status;
                else unreachable?.Invoke(wave[i], answers[i].Error!);
            }
            wave = [.. answers.SelectMany(a => a.Status?.Members ?? []).Select(m => $"{m.Host}:{m.Port}").Where(asked.Add)];
        }
        return [.. found.Values];
    }

    // Threads asking at once: one per VM of a cluster this size, a few rounds for a bigger one.
    private const int MaxAsking = 64;

    private static (VmStatus? Status, IOException? Error)[] AskAll(string[] addresses, ClusterOptions options)
    {
        var answers = new (VmStatus? Status, IOException? Error)[addresses.Length];
        var threads = addresses.Select((address, i) => new Thread(() => answers[i] = AskAt(address, options), 256 * 1024)
        {
            IsBackground = true,
            Name = "River status",
        }).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        return answers;
    }

    private static (VmStatus? Status, IOException? Error) AskAt(string address, ClusterOptions options)
    {
        try
        {
            var (host, port) = SeedAddress.Parse(address);
            return (Ask(host, port, options), null);
        }
        catch (IOException e)
        {
            return (null, e);
        }
        catch (ArgumentException e)
        {
            return (null, new IOException($"{address}: {e.Message}", e));
        }
    }
}

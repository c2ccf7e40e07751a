using System.Net.Sockets;
using System.Security.Authentication;
using MessagePack;

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
    /// <exception cref="IOException">The VM cannot be reached, refused the connection, did not answer in time or answered nonsense.</exception>
    public static VmStatus Ask(string host, int port, ClusterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        try
        {
            using var client = ClusterClient.Connect(host, port, options);
            return client.Ask<StatusReply>(new StatusRequest()).Status;
        }
        catch (Exception e) when (e is SocketException or HandshakeException or OperationCanceledException or AuthenticationException or MessagePackSerializationException)
        {
            throw new IOException($"{host}:{port}: {e.Message}", e);
        }
    }

    /// <summary>
    /// The status of every VM reachable from <paramref name="addresses"/> (<c>host:port</c>): those VMs, then every
    /// member they name, each asked once, at the same time. A VM that cannot be reached is left out and reported to
    /// <paramref name="unreachable"/> with its address.
    /// </summary>
    public static IReadOnlyList<VmStatus> Collect(IEnumerable<string> addresses, ClusterOptions options, Action<string, IOException>? unreachable = null)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var found = new Dictionary<VmId, VmStatus>();
        var asked = new HashSet<string>();
        var wave = addresses.Where(asked.Add).ToList();
        while (wave.Count > 0)
        {
            var answers = wave.AsParallel().WithDegreeOfParallelism(Math.Min(wave.Count, 16)).Select(address =>
            {
                try
                {
                    var (host, port) = SeedAddress.Parse(address);
                    return (address, Status: Ask(host, port, options), Error: (IOException?)null);
                }
                catch (Exception e) when (e is IOException or ArgumentException)
                {
                    return (address, Status: (VmStatus?)null, Error: e as IOException ?? new IOException(e.Message, e));
                }
            }).ToList();
            foreach (var (address, status, error) in answers)
            {
                if (status is null) unreachable?.Invoke(address, error!);
                else found[status.Vm.Id] = status;
            }
            wave = [.. answers.SelectMany(a => a.Status?.Members ?? []).Select(m => $"{m.Host}:{m.Port}").Where(asked.Add)];
        }
        return [.. found.Values];
    }
}

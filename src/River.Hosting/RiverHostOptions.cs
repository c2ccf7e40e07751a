namespace River.Hosting;

/// <summary>
/// How <see cref="RiverHost"/> runs River, bound from configuration (section <c>River</c> by convention):
/// with no <see cref="Seeds"/>, <see cref="Vms"/> VMs inside the process; with seeds, one VM joining that cluster.
/// </summary>
public sealed class RiverHostOptions
{
    /// <summary>VMs inside this process when there are no seeds (the embedded default).</summary>
    public int Vms { get; set; } = 1;

    /// <summary>VMs of a cluster to join (host:port); empty: embedded.</summary>
    public List<string> Seeds { get; set; } = [];

    /// <summary>The cluster's name.</summary>
    public string Cluster { get; set; } = "river";

    /// <summary>A file holding the cluster's shared key (required to join beyond loopback).</summary>
    public string? KeyFile { get; set; }

    /// <summary>The address this VM listens on when it joins a cluster.</summary>
    public string Bind { get; set; } = "127.0.0.1";

    /// <summary>The port this VM listens on when it joins a cluster (0: any free one).</summary>
    public int Port { get; set; }

    /// <summary>Attributes of this process's VMs.</summary>
    public Dictionary<string, string> Attributes { get; set; } = [];
}

using System.CommandLine;
using System.Net;

namespace River.Cli.Commands;

/// <summary>The options every command that talks to a cluster shares.</summary>
internal sealed class ClusterArguments
{
    public Option<string> Cluster { get; } = new("--cluster") { Description = "The cluster's name.", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("RIVER_CLUSTER") ?? "river" };
    public Option<FileInfo?> KeyFile { get; } = new("--key-file") { Description = "A file holding the cluster's shared key." };
    public Option<FileInfo?> TlsCert { get; } = new("--tls-cert") { Description = "A PKCS#12 certificate: wrap connections in TLS (every VM of the cluster needs one; tools only need to say so)." };
    public Option<string?> Seeds { get; } = new("--seeds") { Description = "VMs to contact, host:port,host:port." };
    public Option<string> Bind { get; } = new("--bind") { Description = "The address to listen on.", DefaultValueFactory = _ => "127.0.0.1" };
    public Option<double?> GracePeriod { get; } = new("--grace-period") { Description = "Seconds a silent VM may stay away before it is declared gone (default 30)." };
    public Option<bool> Insecure { get; } = new("--insecure") { Description = "Allow listening beyond loopback without a key (anyone who reaches the port can run code)." };

    public void AddTo(Command command, bool seeds = true, bool bind = true)
    {
        command.Options.Add(Cluster);
        command.Options.Add(KeyFile);
        command.Options.Add(TlsCert);
        if (seeds) command.Options.Add(Seeds);
        if (bind)
        {
            command.Options.Add(Bind);
            command.Options.Add(Insecure);
            command.Options.Add(GracePeriod);
        }
    }

    public ClusterOptions Read(ParseResult parse)
    {
        var options = new ClusterOptions { Name = parse.GetValue(Cluster)!, Insecure = parse.GetValue(Insecure) };
        if (parse.GetValue(KeyFile) is { } key) options.Key = ClusterOptions.ReadKeyFile(key.FullName);
        options.TlsCertificate = parse.GetValue(TlsCert)?.FullName;
        if (parse.GetValue(GracePeriod) is { } grace) options.GracePeriod = TimeSpan.FromSeconds(grace);
        if (parse.GetValue(Bind) is { } bind)
            options.Bind = IPAddress.TryParse(bind, out var ip) ? ip : throw new ArgumentException($"--bind takes an IP address, not '{bind}'.");
        foreach (var seed in SeedList(parse)) options.Seeds.Add(seed);
        return options;
    }

    public IEnumerable<string> SeedList(ParseResult parse) =>
        (parse.GetValue(Seeds) ?? Environment.GetEnvironmentVariable("RIVER_SEEDS") ?? "")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

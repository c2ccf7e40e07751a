using System.Net;
using Microsoft.Extensions.Logging;

namespace River;

/// <summary>River's own options in a program's command line (or their RIVER_* environment variables); the rest is the program's.</summary>
internal sealed record RiverAppOptions(int Vms, LogLevel LogLevel, ClusterOptions? Cluster, string[] ProgramArgs, string? CheckpointDir = null, bool Restart = false)
{
    public static RiverAppOptions Parse(string[] args)
    {
        Func<string, string?> env = Environment.GetEnvironmentVariable;
        var vms = env("RIVER_VMS") is { } v ? ParseVms(v) : Environment.ProcessorCount;
        var level = env("RIVER_LOG_LEVEL") is { } l ? ParseLevel(l) : LogLevel.Warning;
        string? checkpoints = env("RIVER_CHECKPOINT_DIR");
        var restart = false;
        string? seeds = env("RIVER_SEEDS"), cluster = env("RIVER_CLUSTER"), keyFile = env("RIVER_KEY_FILE"), bind = env("RIVER_BIND"), tls = env("RIVER_TLS_CERT");
        var discover = env("RIVER_DISCOVER") is "1" or "true";
        var insecure = false;
        TimeSpan? grace = null, joinTimeout = null;
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--vms": vms = ParseVms(Value(args, ref i)); break;
                case "--log-level": level = ParseLevel(Value(args, ref i)); break;
                case "--seeds": seeds = Value(args, ref i); break;
                case "--discover": discover = true; break;
                case "--insecure": insecure = true; break;
                case "--cluster": cluster = Value(args, ref i); break;
                case "--key-file": keyFile = Value(args, ref i); break;
                case "--bind": bind = Value(args, ref i); break;
                case "--tls-cert": tls = Value(args, ref i); break;
                case "--grace-period": grace = ParseSeconds("--grace-period", Value(args, ref i)); break;
                case "--join-timeout": joinTimeout = ParseSeconds("--join-timeout", Value(args, ref i)); break;
                case "--checkpoint-dir": checkpoints = Value(args, ref i); break;
                case "--restart": (checkpoints, restart) = (Value(args, ref i), true); break;
                default: rest.Add(args[i]); break;
            }
        }
        ClusterOptions? network = null;
        if (!string.IsNullOrEmpty(seeds) || discover)
        {
            network = new ClusterOptions { Multicast = discover, RequireSeeds = true, Insecure = insecure, TlsCertificate = tls };
            if (grace is { } g) network.GracePeriod = g;
            if (joinTimeout is { } j) network.JoinTimeout = j;
            if (cluster is not null) network.Name = cluster;
            if (keyFile is not null) network.Key = ClusterOptions.ReadKeyFile(keyFile);
            if (bind is not null) network.Bind = IPAddress.TryParse(bind, out var ip) ? ip : throw new ArgumentException($"--bind takes an IP address, not '{bind}'.");
            foreach (var seed in (seeds ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                SeedAddress.Parse(seed);
                network.Seeds.Add(seed);
            }
        }
        if (restart && !Directory.Exists(checkpoints)) throw new ArgumentException($"--restart: no checkpoint directory {checkpoints}.");
        return new RiverAppOptions(vms, level, network, [.. rest], string.IsNullOrEmpty(checkpoints) ? null : checkpoints, restart);
    }

    private static string Value(string[] args, ref int i) =>
        ++i < args.Length ? args[i] : throw new ArgumentException($"{args[i - 1]} needs a value.");

    private static TimeSpan ParseSeconds(string option, string text) =>
        double.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var s) && s > 0 ? TimeSpan.FromSeconds(s) : throw new ArgumentException($"{option} takes seconds, not '{text}'.");

    private static int ParseVms(string text) =>
        int.TryParse(text, out var n) && n >= 1 ? n : throw new ArgumentException($"--vms takes a positive number, not '{text}'.");

    private static LogLevel ParseLevel(string text) =>
        Enum.TryParse<LogLevel>(text, ignoreCase: true, out var level) ? level : throw new ArgumentException($"unknown log level '{text}'.");
}

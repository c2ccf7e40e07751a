using System.CommandLine;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using River.OpenTelemetry;

namespace River.Cli.Commands;

/// <summary><c>river vm</c>: one VM in this process until SIGTERM or Ctrl-C.</summary>
internal static class VmCommand
{
    public static Command Create()
    {
        var cluster = new ClusterArguments();
        var port = new Option<int>("--port") { Description = "The TCP port to listen on (0: any free one).", DefaultValueFactory = _ => 7700 };
        var attrs = new Option<string[]>("--attr") { Description = "A VM attribute, k=v (repeatable).", AllowMultipleArgumentsPerToken = false };
        var noMulticast = new Option<bool>("--no-multicast") { Description = "Do not announce or listen by UDP multicast." };
        var maxFrame = new Option<int>("--max-frame") { Description = "The largest frame accepted, in bytes.", DefaultValueFactory = _ => 64 << 20 };
        var allowProgram = new Option<string[]>("--allow-program")
        {
            Description = "Admit deploys from other VMs only of these programs: SHA-256 hashes from river hash (comma-separated, repeatable).",
            AllowMultipleArgumentsPerToken = false,
        };
        var noDeploy = new Option<bool>("--no-deploy") { Description = "Refuse every deploy and shipped code from other VMs." };
        var metricsPort = new Option<int?>("--metrics-port") { Description = "Serve Prometheus metrics at http://BIND:PORT/metrics (BIND: the --bind address)." };
        var otlp = new Option<Uri?>("--otlp-endpoint")
        {
            Description = "Send metrics and spans to this OpenTelemetry collector (OTLP; gRPC unless OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf).",
            CustomParser = AbsoluteUri, // System.CommandLine has no converter for Uri
        };
        var traceSample = new Option<double>("--trace-sample")
        {
            Description = "With --otlp-endpoint: the share of packet traces kept (0 to 1) when no sender decided; a packet sent in a sampled span is always traced.",
            DefaultValueFactory = _ => 1,
        };
        var config = new Option<FileInfo?>(ConfigurationArguments.ConfigOption) { Description = $"A JSON file of options (default: {ConfigurationArguments.DefaultFile} here, if present); flags win, then RIVER_* variables, then the file." };
        var logLevel = new Option<LogLevel>("--log-level") { Description = "Trace, Debug, Information, Warning, Error.", DefaultValueFactory = _ => LogLevel.Information };
        var command = new Command("vm", "Run a River VM: it joins its cluster and hosts the VRs programs deploy on it.");
        cluster.AddTo(command);
        foreach (var o in new Option[] { port, attrs, noMulticast, maxFrame, allowProgram, noDeploy, metricsPort, otlp, traceSample, config, logLevel }) command.Options.Add(o);
        command.SetAction(async (parse, cancel) =>
        {
            var options = cluster.Read(parse);
            options.Port = parse.GetValue(port);
            options.Multicast = !parse.GetValue(noMulticast);
            options.MaxFrameSize = parse.GetValue(maxFrame);
            var telemetryOptions = new TelemetryOptions
            {
                PrometheusPort = parse.GetValue(metricsPort),
                PrometheusHost = options.Bind.ToString(),
                OtlpEndpoint = parse.GetValue(otlp),
            };
            try
            {
                options.Validate();
                telemetryOptions.TraceSampleRatio = parse.GetValue(traceSample);
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentOutOfRangeException)
            {
                await Console.Error.WriteLineAsync($"river vm: {e.Message}");
                return 2;
            }
            using var logging = LoggerFactory.Create(b => b
                .SetMinimumLevel(parse.GetValue(logLevel))
                .AddSimpleConsole(c =>
                {
                    c.SingleLine = true;
                    c.TimestampFormat = "HH:mm:ss.fff ";
                })
                .AddConsole(c => c.LogToStandardErrorThreshold = LogLevel.Trace));
            var vmOptions = new RiverVmOptions { LoggerFactory = logging, AllowDeploy = !parse.GetValue(noDeploy) };
            foreach (var hash in (parse.GetValue(allowProgram) ?? []).SelectMany(h => h.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
            {
                if (hash.Length != 64 || !hash.All(char.IsAsciiHexDigit)) throw new ArgumentException($"--allow-program takes SHA-256 hashes (64 hex digits), not '{hash}'.");
                vmOptions.AllowedPrograms.Add(hash);
            }
            foreach (var a in parse.GetValue(attrs) ?? [])
            {
                var eq = a.IndexOf('=');
                if (eq <= 0) throw new ArgumentException($"--attr takes k=v, not '{a}'.");
                vmOptions.Attributes[a[..eq]] = a[(eq + 1)..];
            }
            using var telemetry = RiverTelemetry.Export(telemetryOptions);
            var stop = new TaskCompletionSource();
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
            {
                c.Cancel = true;
                stop.TrySetResult();
            });
            while (true)
            {
                await using var vm = await RiverVm.JoinAsync(options, vmOptions);
                Console.WriteLine($"River VM {vm.Id} listening on {vm.Info.Host}:{vm.Info.Port} in cluster '{options.Name}'");
                if (await Task.WhenAny(stop.Task, Task.Delay(Timeout.Infinite, cancel), vm.Fenced) != vm.Fenced)
                {
                    Console.WriteLine($"River VM {vm.Id} stopping");
                    return 0;
                }
                // The cluster declared this VM gone while it was paused or cut off: take part again as a new VM.
                Console.WriteLine($"River VM {vm.Id} was declared gone by the cluster; starting a new VM in its place");
            }
        });
        return command;
    }

    private static Uri? AbsoluteUri(System.CommandLine.Parsing.ArgumentResult result)
    {
        var text = result.Tokens.Single().Value;
        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https") return uri;
        result.AddError($"--otlp-endpoint takes an http:// or https:// URL, not '{text}'.");
        return null;
    }
}

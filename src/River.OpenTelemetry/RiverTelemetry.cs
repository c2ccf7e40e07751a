using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace River.OpenTelemetry;

/// <summary>
/// River's instruments in OpenTelemetry: <c>AddRiverInstrumentation</c> for an app's own providers, or
/// <see cref="Export"/> for a process that only runs River (what <c>river vm --metrics-port</c> uses).
/// </summary>
/// <example><code>
/// using var metrics = Sdk.CreateMeterProviderBuilder().AddRiverInstrumentation().AddOtlpExporter().Build();
/// using var exporters = RiverTelemetry.Export(new TelemetryOptions { PrometheusPort = 9464 });   // http://127.0.0.1:9464/metrics
/// </code></example>
public static class RiverTelemetry
{
    /// <summary>Collects River's meter (<see cref="RiverMetrics.MeterName"/>).</summary>
    public static MeterProviderBuilder AddRiverInstrumentation(this MeterProviderBuilder builder) =>
        builder.AddMeter(RiverMetrics.MeterName);

    /// <summary>
    /// Collects River's spans (<see cref="RiverMetrics.ActivitySourceName"/>): <c>river.deploy</c>, and <c>river.send</c> /
    /// <c>river.receive</c> per sampled packet. Sample with <c>SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(0.01)))</c>
    /// to keep one packet trace in a hundred.
    /// </summary>
    public static TracerProviderBuilder AddRiverInstrumentation(this TracerProviderBuilder builder) =>
        builder.AddSource(RiverMetrics.ActivitySourceName);

    /// <summary>Starts the exporters <paramref name="options"/> asks for; disposing the result stops them. Null when it asks for none.</summary>
    public static IDisposable? Export(TelemetryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.PrometheusPort is null && options.OtlpEndpoint is null) return null;
        var metrics = Sdk.CreateMeterProviderBuilder().ConfigureResource(r => r.AddService(options.ServiceName)).AddRiverInstrumentation();
        if (options.PrometheusPort is { } port)
            metrics.AddPrometheusHttpListener(o =>
            {
                o.Host = ListenerHost(options.PrometheusHost);
                o.Port = port;
            });
        TracerProvider? traces = null;
        if (options.OtlpEndpoint is { } endpoint)
        {
            metrics.AddOtlpExporter(o => o.Endpoint = endpoint);
            traces = Sdk.CreateTracerProviderBuilder().ConfigureResource(r => r.AddService(options.ServiceName)).AddRiverInstrumentation()
                .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(options.TraceSampleRatio)))
                .AddOtlpExporter(o => o.Endpoint = endpoint).Build();
        }
        return new Providers(metrics.Build(), traces);
    }

    // HttpListener names "every address" '+', and wants IPv6 literals in brackets.
    private static string ListenerHost(string host) => host switch
    {
        "0.0.0.0" or "::" => "+",
        _ when host.Contains(':', StringComparison.Ordinal) => $"[{host}]",
        _ => host,
    };

    private sealed class Providers(MeterProvider metrics, TracerProvider? traces) : IDisposable
    {
        public void Dispose()
        {
            traces?.Dispose();
            metrics.Dispose();
        }
    }
}

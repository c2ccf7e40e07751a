namespace River.OpenTelemetry;

/// <summary>Which exporters <see cref="RiverTelemetry.Export"/> starts.</summary>
public sealed class TelemetryOptions
{
    /// <summary>Serve a Prometheus scrape endpoint at <c>http://PrometheusHost:PrometheusPort/metrics</c>; null: none.</summary>
    public int? PrometheusPort { get; set; }

    /// <summary>The address the scrape endpoint listens on: loopback unless the VM listens beyond it.</summary>
    public string PrometheusHost { get; set; } = "127.0.0.1";

    /// <summary>The service name the exported data carries.</summary>
    public string ServiceName { get; set; } = "river";

    /// <summary>Send metrics and spans by OTLP to this collector; null: none.</summary>
    public Uri? OtlpEndpoint { get; set; }
}

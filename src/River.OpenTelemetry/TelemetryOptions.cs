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

    /// <summary>
    /// The share of traces (0 to 1) whose spans are recorded when no sender decided: a packet sent outside any sampled span
    /// starts a trace that is kept with this probability, and what follows it (its receive, packets in a sampled span)
    /// follows that decision. 1 (the default) keeps every trace, which costs a span or two per packet.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">set outside 0 to 1.</exception>
    public double TraceSampleRatio
    {
        get => _traceSampleRatio;
        set => _traceSampleRatio = value is >= 0 and <= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The trace sample ratio is a share between 0 and 1.");
    }

    private double _traceSampleRatio = 1;
}

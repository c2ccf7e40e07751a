namespace River.Bench;

/// <summary>A goal for one metric; checked against the medians of the same run.</summary>
internal sealed record Target(string Text, Func<Result, bool> Met)
{
    public static Target RatioAtMost(double x) => new($"ratio ≤ {x:0.##}", r => r.Ratio <= x);

    public static Target RatioAtLeast(double x) => new($"ratio ≥ {x:0.##}", r => r.Ratio >= x);

    public static Target ValueBelow(double x, string unit) => new($"< {x:#,0.##} {unit}", r => r.River.Median < x);
}

/// <summary>One metric of one scenario: River and its baseline, measured in the same run.</summary>
internal sealed record Result(
    string Scenario,
    string Metric,
    string Unit,
    Stats River,
    string Baseline,
    Stats BaselineStats,
    Target? Target = null)
{
    /// <summary>River / baseline for the same metric; NaN when the baseline is zero.</summary>
    public double Ratio => BaselineStats.Median == 0 ? double.NaN : River.Median / BaselineStats.Median;

    public bool? TargetMet => Target?.Met(this);
}

using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace River.Bench;

/// <summary>Writes results as a Markdown pipe table (readable in a terminal, pasteable into docs) or as JSON lines.</summary>
internal static class Reporter
{
    private static readonly string[] Header =
        ["scenario", "metric", "unit", "River", "River min–max", "baseline", "baseline value", "baseline min–max", "ratio", "target"];

    /// <summary>One object per line, fields in a fixed order so line-oriented tools can rely on them.</summary>
    public static string JsonLine(Result r)
    {
        using var stream = new MemoryStream();
        // Relaxed escaping: units and metrics such as "µs" and "1 → 1" stay readable (still valid JSON).
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("scenario", r.Scenario);
            w.WriteString("metric", r.Metric);
            Number(w, "value", r.River.Median);
            w.WriteString("unit", r.Unit);
            w.WriteString("baseline", r.Baseline);
            Number(w, "baseline_value", r.BaselineStats.Median);
            Number(w, "ratio", r.Ratio);
            Number(w, "min", r.River.Min);
            Number(w, "max", r.River.Max);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public static void Table(IReadOnlyList<Result> results, TextWriter output)
    {
        var rows = results.Select(r => new[]
        {
            r.Scenario, r.Metric, r.Unit, Format(r.River.Median), Range(r.River), r.Baseline, Format(r.BaselineStats.Median),
            Range(r.BaselineStats), double.IsFinite(r.Ratio) ? r.Ratio.ToString("0.00", CultureInfo.InvariantCulture) : "n/a",
            r.Target is null ? "—" : $"{r.Target.Text} {(r.TargetMet == true ? "✔" : "✘ MISSED")}",
        }).ToList();
        var widths = Header.Select((h, i) => rows.Select(row => row[i].Length).Append(h.Length).Max()).ToArray();
        output.WriteLine(Line(Header, widths));
        output.WriteLine("|" + string.Join("|", widths.Select(w => new string('-', w + 2))) + "|");
        foreach (var row in rows) output.WriteLine(Line(row, widths));
    }

    private static string Line(string[] cells, int[] widths) =>
        "| " + string.Join(" | ", cells.Select((c, i) => c.PadRight(widths[i]))) + " |";

    private static string Range(Stats s) => double.IsNaN(s.Min) ? "—" : $"{Format(s.Min)}–{Format(s.Max)}";

    /// <summary>Few digits for big numbers, more for small ones: the noise here is in the percents.</summary>
    public static string Format(double v) => Math.Abs(v) switch
    {
        double.NaN => "—",
        >= 1000 => v.ToString("#,0", CultureInfo.InvariantCulture),
        >= 10 => v.ToString("0.0", CultureInfo.InvariantCulture),
        _ => v.ToString("0.###", CultureInfo.InvariantCulture),
    };

    // Six significant digits; JSON has no NaN, so a ratio against a zero baseline is null.
    private static void Number(Utf8JsonWriter w, string name, double v)
    {
        if (!double.IsFinite(v))
        {
            w.WriteNull(name);
            return;
        }
        var digits = v == 0 ? 0 : Math.Clamp(5 - (int)Math.Floor(Math.Log10(Math.Abs(v))), 0, 15);
        w.WriteNumber(name, Math.Round(v, digits));
    }
}

using System.Text;

namespace River;

/// <summary>Makes text that came from the network safe to log: no control characters (no forged lines, no terminal escapes), bounded length.</summary>
internal static class LogText
{
    private const int MaxLength = 200;

    public static string Escape(string? text)
    {
        if (text is null) return "(none)";
        var clipped = text.Length > MaxLength;
        var span = clipped ? text.AsSpan(0, MaxLength) : text.AsSpan();
        if (!clipped && !span.ContainsAnyInRange('\0', '\x1f') && !span.Contains('\x7f')) return text;
        var escaped = new StringBuilder(span.Length + 16);
        foreach (var c in span)
        {
            if (char.IsControl(c)) escaped.Append($"\\x{(int)c:x2}");
            else escaped.Append(c);
        }
        if (clipped) escaped.Append($"… ({text.Length} chars)");
        return escaped.ToString();
    }
}

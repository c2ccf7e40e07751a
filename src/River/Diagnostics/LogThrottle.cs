using System.Collections.Concurrent;

namespace River;

/// <summary>
/// Keeps a flood from flooding the log: per key (a source address, say), the first event in an interval is
/// logged, the rest are counted and reported with the next event logged after the interval.
/// </summary>
internal sealed class LogThrottle(TimeSpan interval, int maxKeys = 4096)
{
    private readonly ConcurrentDictionary<string, Window> _windows = new();

    private sealed class Window(long start)
    {
        public long Start = start;
        public int Suppressed;
    }

    /// <summary>True when this event should be logged; <paramref name="suppressed"/> is how many were not since the last one.</summary>
    public bool ShouldLog(string key, out int suppressed)
    {
        var now = Environment.TickCount64;
        if (_windows.Count >= maxKeys) _windows.Clear(); // many sources at once: forget old windows rather than grow
        var window = _windows.GetOrAdd(key, static (_, now) => new Window(now - long.MaxValue / 2), now);
        lock (window)
        {
            if (now - window.Start < interval.TotalMilliseconds)
            {
                window.Suppressed++;
                suppressed = 0;
                return false;
            }
            suppressed = window.Suppressed;
            window.Start = now;
            window.Suppressed = 0;
            return true;
        }
    }
}

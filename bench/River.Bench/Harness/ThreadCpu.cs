using System.Globalization;
using System.Text.RegularExpressions;

namespace River.Bench;

/// <summary>
/// CPU time per thread of some processes, from Linux's /proc, summed by thread name (a reader's name without the VM id it
/// ends with): where a scenario's CPU goes, per unit of work. Off unless <c>RIVER_BENCH_THREADS=1</c>; then
/// <see cref="Measure"/> writes each run's CPU per unit to standard error.
/// </summary>
internal static partial class ThreadCpu
{
    public static bool Enabled { get; } = Environment.GetEnvironmentVariable("RIVER_BENCH_THREADS") == "1" && OperatingSystem.IsLinux();

    /// <summary>
    /// Runs <paramref name="run"/>; when enabled, writes the µs of CPU per each of <paramref name="units"/> that every
    /// named process's threads used meanwhile, by thread name (at least 0.05 µs; /proc counts in ticks of 10 ms).
    /// </summary>
    public static T Measure<T>(string label, long units, IReadOnlyList<(string Name, int Pid)> processes, Func<T> run)
    {
        if (!Enabled) return run();
        var before = processes.Select(p => Snapshot(p.Pid)).ToList();
        var result = run();
        for (var i = 0; i < processes.Count; i++)
        {
            var after = Snapshot(processes[i].Pid);
            var used = after
                .Select(t => (t.Key.Name, Ticks: t.Value - before[i].GetValueOrDefault(t.Key)))
                .GroupBy(t => t.Name, (name, ts) => (Name: name, Us: ts.Sum(t => t.Ticks) * 1e6 / TicksPerSecond / units))
                .Where(t => t.Us >= 0.05)
                .OrderByDescending(t => t.Us)
                .ToList();
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"cpu {label} {processes[i].Name}: {used.Sum(t => t.Us):F2} µs/unit ({string.Join(", ", used.Select(t => $"{t.Name} {t.Us:F2}"))})"));
        }
        return result;
    }

    private const double TicksPerSecond = 100; // USER_HZ on Linux

    /// <summary>User + system ticks of each live thread of <paramref name="pid"/>, by (name, tid).</summary>
    private static Dictionary<(string Name, string Tid), long> Snapshot(int pid)
    {
        var threads = new Dictionary<(string, string), long>();
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var open = stat.IndexOf('(', StringComparison.Ordinal);
                var close = stat.LastIndexOf(')');
                var name = VmIdSuffix().Replace(stat[(open + 1)..close], "").Trim();
                var fields = stat[(close + 2)..].Split(' ');
                threads[(name, Path.GetFileName(task))] = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                // the thread ended between the listing and the read
            }
        }
        return threads;
    }

    [GeneratedRegex("[0-9a-f]{2,}$")]
    private static partial Regex VmIdSuffix();
}

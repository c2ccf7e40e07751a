using Microsoft.Extensions.Logging;

namespace River;

/// <summary>River's own options in a program's command line (and their environment variables); the rest is the program's.</summary>
internal sealed record RiverAppOptions(int Vms, LogLevel LogLevel, string[] ProgramArgs)
{
    public static RiverAppOptions Parse(string[] args)
    {
        var vms = Environment.GetEnvironmentVariable("RIVER_VMS") is { } v ? ParseVms(v) : Environment.ProcessorCount;
        var level = Environment.GetEnvironmentVariable("RIVER_LOG_LEVEL") is { } l ? ParseLevel(l) : LogLevel.Warning;
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--vms":
                    vms = ParseVms(Value(args, ref i));
                    break;
                case "--log-level":
                    level = ParseLevel(Value(args, ref i));
                    break;
                default:
                    rest.Add(args[i]);
                    break;
            }
        }
        return new RiverAppOptions(vms, level, [.. rest]);
    }

    private static string Value(string[] args, ref int i) =>
        ++i < args.Length ? args[i] : throw new ArgumentException($"{args[i - 1]} needs a value.");

    private static int ParseVms(string text) =>
        int.TryParse(text, out var n) && n >= 1 ? n : throw new ArgumentException($"--vms takes a positive number, not '{text}'.");

    private static LogLevel ParseLevel(string text) =>
        Enum.TryParse<LogLevel>(text, ignoreCase: true, out var level) ? level : throw new ArgumentException($"unknown log level '{text}'.");
}

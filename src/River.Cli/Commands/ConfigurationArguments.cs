using System.CommandLine;
using Microsoft.Extensions.Configuration;

namespace River.Cli.Commands;

/// <summary>
/// Fills in the options a command line leaves out, from <c>RIVER_*</c> environment variables and then from a
/// JSON file (<c>--config FILE</c>, else <c>river.json</c> in the working directory when there is one):
/// flags win, then the environment, then the file. A key is an option's name without its dashes, in any
/// case and with <c>-</c>, <c>_</c> or nothing between words (<c>key-file</c>, <c>KeyFile</c>, <c>RIVER_KEY_FILE</c>);
/// a repeatable option takes a JSON array (<c>RIVER_ATTR__0</c>, <c>RIVER_ATTR__1</c> in the environment).
/// </summary>
internal static class ConfigurationArguments
{
    public const string ConfigOption = "--config", DefaultFile = "river.json";

    /// <summary>The arguments of <paramref name="command"/> (without its name) completed from the configuration.</summary>
    public static string[] Complete(Command command, string[] args)
    {
        var configuration = Read(args);
        var completed = new List<string>(args);
        foreach (var option in command.Options.Where(o => o.Name.StartsWith("--", StringComparison.Ordinal) && o.Name != ConfigOption))
        {
            if (args.Any(a => Names(option).Any(n => a == n || a.StartsWith(n + "=", StringComparison.Ordinal)))) continue;
            var section = configuration.GetChildren().FirstOrDefault(s => Key(s.Key) == Key(option.Name));
            if (section is null) continue;
            var values = section.Value is { } single ? [single] : section.GetChildren().Select(c => c.Value).OfType<string>().ToList();
            foreach (var value in values)
            {
                if (option.ValueType == typeof(bool))
                {
                    if (bool.TryParse(value, out var on) ? on : throw new ArgumentException($"{option.Name} takes true or false in the configuration, not '{value}'."))
                        completed.Add(option.Name);
                }
                else completed.AddRange([option.Name, value]);
            }
        }
        return [.. completed];
    }

    private static IConfiguration Read(string[] args)
    {
        var at = Array.FindIndex(args, a => a == ConfigOption || a.StartsWith(ConfigOption + "=", StringComparison.Ordinal));
        var given = at < 0 ? null
            : args[at].Length > ConfigOption.Length ? args[at][(ConfigOption.Length + 1)..]
            : at + 1 < args.Length ? args[at + 1] : throw new ArgumentException($"{ConfigOption} needs a file.");
        var file = Path.GetFullPath(given ?? DefaultFile);
        return new ConfigurationBuilder()
            .AddJsonFile(file, optional: given is null)
            .AddEnvironmentVariables("RIVER_")
            .Build();
    }

    private static IEnumerable<string> Names(Option option) => [option.Name, .. option.Aliases];

    private static string Key(string name) => name.TrimStart('-').Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal).ToUpperInvariant();
}

/// <summary>A sample's own options (<c>--name value</c>) among the arguments River leaves to the program.</summary>
internal static class SampleArgs
{
    /// <summary>The whole number after <paramref name="name"/>, or <paramref name="fallback"/> when the option is absent.</summary>
    /// <exception cref="ArgumentException">the option has no value or one below <paramref name="min"/>.</exception>
    public static int Option(this IReadOnlyList<string> args, string name, int fallback, int min = 1)
    {
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] != name) continue;
            return i + 1 < args.Count && int.TryParse(args[i + 1], out var value) && value >= min
                ? value
                : throw new ArgumentException($"{name} takes a whole number of at least {min}.");
        }
        return fallback;
    }
}

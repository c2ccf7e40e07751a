namespace River;

/// <summary>Parses <c>host:port</c> seed addresses (<c>[v6]:port</c> too).</summary>
internal static class SeedAddress
{
    public static (string Host, int Port) Parse(string seed)
    {
        var colon = seed.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(seed.AsSpan(colon + 1), out var port) || port is < 1 or > 65535)
            throw new ArgumentException($"A seed must be host:port, not '{seed}'.");
        return (seed[..colon].Trim('[', ']'), port);
    }
}

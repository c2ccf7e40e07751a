/// <summary>
/// The NAS Parallel Benchmarks' random number generator: x(k+1) = a · x(k) mod 2^46, in double precision
/// (exact, since every product is split into 23-bit halves), returning x · 2^-46 in (0, 1).
/// </summary>
internal static class NpbRandom
{
    public const double A = 1220703125.0; // 5^13

    private const double R23 = 1.0 / (1 << 23), R46 = R23 * R23, T23 = 1 << 23, T46 = T23 * T23;

    /// <summary>Advances <paramref name="x"/> to a · x mod 2^46 and returns it scaled to (0, 1).</summary>
    public static double Next(ref double x, double a)
    {
        double a1 = (int)(R23 * a), a2 = a - T23 * a1;
        double x1 = (int)(R23 * x), x2 = x - T23 * x1;
        var t1 = a1 * x2 + a2 * x1;
        var z = t1 - T23 * (int)(R23 * t1);
        var t3 = T23 * z + a2 * x2;
        x = t3 - T46 * (int)(R46 * t3);
        return R46 * x;
    }

    /// <summary>Fills <paramref name="into"/> with the next numbers of the sequence.</summary>
    public static void Fill(ref double x, double a, Span<double> into)
    {
        for (var i = 0; i < into.Length; i++) into[i] = Next(ref x, a);
    }

    /// <summary>The seed <paramref name="count"/> numbers after <paramref name="seed"/>: seed · a^count mod 2^46, by squaring.</summary>
    public static double Skip(double seed, double a, long count)
    {
        for (var power = a; count > 0; count >>= 1)
        {
            if ((count & 1) != 0) Next(ref seed, power);
            Next(ref power, power);
        }
        return seed;
    }
}

/// <summary>NPB's problem classes: the size parameter and the published verification values.</summary>
internal static class NpbClass
{
    public static char Parse(IReadOnlyList<string> args)
    {
        var i = args.ToList().IndexOf("--class");
        var name = i >= 0 && i + 1 < args.Count ? args[i + 1] : "S";
        return name is "S" or "W" or "A" or "B" or "C" ? name[0] : throw new ArgumentException($"--class takes S, W, A, B or C, not '{name}'.");
    }

    /// <summary>NPB's closing verdict line.</summary>
    public static string Verdict(bool verified) => $" Verification    =               {(verified ? "VERIFIED" : "UNSUCCESSFUL")}";
}

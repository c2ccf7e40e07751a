using System.Text.RegularExpressions;

/// <summary>
/// The sequential parts of the classic programs that docs/PROGRAMMABILITY.md compares (pi, word count,
/// heat): every programming model's version shares them and prints its answer with them, so the versions
/// differ only in how they split, move and combine the work, and a test checks them all the same way.
/// </summary>
internal static partial class Classics
{
    /// <summary>Pi: how many of <paramref name="n"/> random points of the unit square land inside the quarter circle; the same for the same seed.</summary>
    public static long CountHits(int n, int seed)
    {
        var random = new Random(seed);
        long hits = 0;
        for (var i = 0; i < n; i++)
        {
            double x = random.NextDouble(), y = random.NextDouble();
            if (x * x + y * y <= 1) hits++;
        }
        return hits;
    }

    public static void PrintPi(long hits, int samplesPerWorker, int workers)
    {
        var total = (long)samplesPerWorker * workers;
        var pi = 4.0 * hits / total;
        Console.WriteLine($"samples: {total}, workers: {workers}");
        Console.WriteLine($"pi = {pi:F6} (error {Math.Abs(pi - Math.PI):E2})");
    }

    // The opening of A Tale of Two Cities (Charles Dickens, 1859), repeated to a few thousand words.
    private const string Opening = """
        It was the best of times, it was the worst of times,
        it was the age of wisdom, it was the age of foolishness,
        it was the epoch of belief, it was the epoch of incredulity,
        it was the season of Light, it was the season of Darkness,
        it was the spring of hope, it was the winter of despair,
        we had everything before us, we had nothing before us,
        we were all going direct to Heaven, we were all going direct the other way -
        in short, the period was so far like the present period,
        that some of its noisiest authorities insisted on its being received,
        for good or for evil, in the superlative degree of comparison only.
        """;

    /// <summary>Word count's default text: Dickens' opening 30 times.</summary>
    public static string[] Text() => [.. Enumerable.Repeat(Opening.Split('\n'), 30).SelectMany(paragraph => paragraph)];

    public static Dictionary<string, int> CountWords(IEnumerable<string> lines)
    {
        var counts = new Dictionary<string, int>();
        foreach (var line in lines)
            foreach (var word in Word().Matches(line).Select(m => m.Value.ToLowerInvariant()))
                counts[word] = counts.GetValueOrDefault(word) + 1;
        return counts;
    }

    /// <summary>Adds <paramref name="counts"/> into <paramref name="total"/>.</summary>
    public static void Merge(Dictionary<string, int> total, IReadOnlyDictionary<string, int> counts)
    {
        foreach (var (word, n) in counts) total[word] = total.GetValueOrDefault(word) + n;
    }

    /// <summary>Prints the merged counts' totals and top ten, and whether they equal a single-threaded count of <paramref name="lines"/>.</summary>
    public static void PrintWordCount(string[] lines, Dictionary<string, int> merged, int workers)
    {
        Console.WriteLine($"words: {merged.Values.Sum()}, distinct: {merged.Count}, lines: {lines.Length}, workers: {workers}");
        foreach (var (word, n) in merged.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(10))
            Console.WriteLine($"{n,8}  {word}");
        var single = CountWords(lines);
        var matches = single.Count == merged.Count && single.All(kv => merged.GetValueOrDefault(kv.Key) == kv.Value);
        Console.WriteLine($"matches single-threaded count: {matches}");
    }

    [GeneratedRegex(@"\p{L}+(?:'\p{L}+)*")]
    private static partial Regex Word();

    private const double Rate = 0.25; // alpha * dt / dx^2; stable below 0.5

    /// <summary>Heat: the fixed temperature just outside both ends of the rod.</summary>
    public const double EdgeTemperature = 0;

    /// <summary>Random, not smooth, temperatures: every block edge carries heat from the first step on.</summary>
    public static double[] InitialTemperatures(int cells)
    {
        var random = new Random(1);
        return [.. Enumerable.Range(0, cells).Select(_ => 100 * random.NextDouble())];
    }

    /// <summary>One explicit step of a block between two ghost cells; parallel and sequential runs share it, so they agree bit for bit.</summary>
    public static double[] HeatStep(double[] u, double leftGhost, double rightGhost)
    {
        var next = new double[u.Length];
        for (var i = 0; i < u.Length; i++)
        {
            var before = i > 0 ? u[i - 1] : leftGhost;
            var after = i < u.Length - 1 ? u[i + 1] : rightGhost;
            next[i] = u[i] + Rate * (before - 2 * u[i] + after);
        }
        return next;
    }

    /// <summary>Prints the run's size and checksum (and time, when given), and whether <paramref name="parallel"/> equals a sequential run bit for bit.</summary>
    public static void PrintHeat(double[] initial, int steps, int workers, double[] parallel, TimeSpan? elapsed = null)
    {
        var sequential = initial;
        for (var s = 0; s < steps; s++) sequential = HeatStep(sequential, EdgeTemperature, EdgeTemperature);
        Console.WriteLine($"cells: {initial.Length}, steps: {steps}, workers: {workers}");
        Console.WriteLine($"checksum: {parallel.Sum():R}");
        if (elapsed is { } t) Console.WriteLine($"parallel run: {t.TotalSeconds:0.000} s (deploy to results)");
        Console.WriteLine($"matches sequential: {parallel.Select(BitConverter.DoubleToInt64Bits).SequenceEqual(sequential.Select(BitConverter.DoubleToInt64Bits))}");
    }
}

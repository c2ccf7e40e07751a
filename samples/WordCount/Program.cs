using System.Text.RegularExpressions;
using River;

// Word count: the initiator splits a text by lines into one block per VM, each worker counts the
// words of its block, and the initiator merges the counts and checks them against a count of its own.
// Usage: WordCount [--vms N] [file]; without a file it counts an embedded public-domain text.
return await RiverApp.RunAsync<WordCount>(args);

public sealed partial class WordCount : VirtualResource
{
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

    private const int Repeats = 30;

    protected override void Main()
    {
        if (Parent is null) CountAndCheck(Args.Count > 0 ? File.ReadAllLines(Args[0]) : DefaultText());
        else Send(Parent.Value, new { tag = "counts", counts = Count(Recv(new { tag = "lines" }).Get<string[]>("lines")) });
    }

    private void CountAndCheck(string[] lines)
    {
        var workers = Deploy<WordCount>(Discover());
        for (var i = 0; i < workers.Count; i++)
            Send(workers[i], new { tag = "lines", lines = lines[Blocks.Of(lines.Length, workers.Count, i)] });
        var merged = new Dictionary<string, int>();
        foreach (var w in workers)
            foreach (var (word, n) in Recv(new { tag = "counts", src = w }).Get<Dictionary<string, int>>("counts"))
                merged[word] = merged.GetValueOrDefault(word) + n;

        Console.WriteLine($"words: {merged.Values.Sum()}, distinct: {merged.Count}, lines: {lines.Length}, workers: {workers.Count}");
        foreach (var (word, n) in merged.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(10))
            Console.WriteLine($"{n,8}  {word}");
        var single = Count(lines);
        var matches = single.Count == merged.Count && single.All(kv => merged.GetValueOrDefault(kv.Key) == kv.Value);
        Console.WriteLine($"matches single-threaded count: {matches}");
    }

    private static string[] DefaultText() =>
        [.. Enumerable.Repeat(Opening.Split('\n'), Repeats).SelectMany(paragraph => paragraph)];

    private static Dictionary<string, int> Count(IEnumerable<string> lines)
    {
        var counts = new Dictionary<string, int>();
        foreach (var line in lines)
            foreach (var word in Word().Matches(line).Select(m => m.Value.ToLowerInvariant()))
                counts[word] = counts.GetValueOrDefault(word) + 1;
        return counts;
    }

    [GeneratedRegex(@"\p{L}+(?:'\p{L}+)*")]
    private static partial Regex Word();
}

using River;

// Word count: one block of lines per VM, counted where ForkWork sends it; counts are merged as they come.
internal static class TrickleWordCount
{
    public static async Task Run(Trickle trickle)
    {
        var lines = Classics.Text();
        var n = trickle.Vms.Count;
        var blocks = Enumerable.Range(0, n).Select(i => lines[Blocks.Of(lines.Length, n, i)]);
        var merged = new Dictionary<string, int>();
        await foreach (var counts in trickle.ForkWork(blocks, Classics.CountWords)) Classics.Merge(merged, counts);
        Classics.PrintWordCount(lines, merged, n);
    }
}

using River;

// Word count: the initiator splits a text by lines into one block per VM, each worker counts the
// words of its block, and the initiator merges the counts and checks them against a count of its own.
// Usage: WordCount [--vms N] [file]; without a file it counts an embedded public-domain text.
return await RiverApp.RunAsync<WordCount>(args);

public sealed class WordCount : VirtualResource
{
    protected override void Main()
    {
        if (Parent is null) CountAndCheck(Args.Count > 0 ? File.ReadAllLines(Args[0]) : Classics.Text());
        else Send(Parent.Value, new { tag = "counts", counts = Classics.CountWords(Recv(new { tag = "lines" }).Get<string[]>("lines")) });
    }

    private void CountAndCheck(string[] lines)
    {
        var workers = Deploy<WordCount>(Discover());
        for (var i = 0; i < workers.Count; i++)
            Send(workers[i], new { tag = "lines", lines = lines[Blocks.Of(lines.Length, workers.Count, i)] });
        var merged = new Dictionary<string, int>();
        foreach (var w in workers)
            Classics.Merge(merged, Recv(new { tag = "counts", src = w }).Get<Dictionary<string, int>>("counts"));
        Classics.PrintWordCount(lines, merged, workers.Count);
    }
}

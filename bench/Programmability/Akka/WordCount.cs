using Akka.Actor;

// Word count: one counter actor per --workers, asked with its block of lines; the driver merges the counts.
internal static class AkkaWordCount
{
    private sealed class Counter : ReceiveActor
    {
        public Counter() => Receive<string[]>(lines => Sender.Tell(Classics.CountWords(lines)));
    }

    public static async Task Run(ActorSystem system, int workers, IReadOnlyList<string> args)
    {
        var lines = Classics.Text();
        var counts = await Task.WhenAll(Enumerable.Range(0, workers).Select(i =>
            system.ActorOf(Props.Create<Counter>()).Ask<Dictionary<string, int>>(lines[Blocks.Of(lines.Length, workers, i)])));
        var merged = new Dictionary<string, int>();
        foreach (var c in counts) Classics.Merge(merged, c);
        Classics.PrintWordCount(lines, merged, workers);
    }
}

using River;

// Monte Carlo pi: one item per VM, seeded with its number; ForkWork runs them and the hits are summed as they come.
internal static class TricklePi
{
    public static async Task Run(Trickle trickle)
    {
        var samples = trickle.Args.Option("--samples", 1_000_000);
        var hits = await trickle.ForkWork(Enumerable.Range(0, trickle.Vms.Count), seed => Classics.CountHits(samples, seed)).SumAsync();
        Classics.PrintPi(hits, samples, trickle.Vms.Count);
    }
}

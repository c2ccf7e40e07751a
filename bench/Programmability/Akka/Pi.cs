using Akka.Actor;

// Monte Carlo pi: one worker actor per --workers, seeded with its number; the driver asks them all and sums the hits.
internal static class AkkaPi
{
    private sealed record Throw(int Samples, int Seed);

    private sealed class Worker : ReceiveActor
    {
        public Worker() => Receive<Throw>(t => Sender.Tell(Classics.CountHits(t.Samples, t.Seed)));
    }

    public static async Task Run(ActorSystem system, int workers, IReadOnlyList<string> args)
    {
        var samples = args.Option("--samples", 1_000_000);
        var hits = await Task.WhenAll(Enumerable.Range(0, workers).Select(i =>
            system.ActorOf(Props.Create<Worker>()).Ask<long>(new Throw(samples, i))));
        Classics.PrintPi(hits.Sum(), samples, workers);
    }
}

using Akka.Actor;

// Token ring: --workers member actors pass a token to their successor `--laps M` times round, counting its
// hops; the first member gets it a last time and answers the driver's Ask with M * members.
internal static class AkkaRing
{
    private sealed record Successor(IActorRef Next);

    private sealed record Token(int Hops);

    private sealed class Member : ReceiveActor
    {
        public Member(int laps)
        {
            IActorRef next = ActorRefs.Nobody, origin = ActorRefs.Nobody;
            var passed = 0;
            Receive<Successor>(s => next = s.Next);
            Receive<Token>(t =>
            {
                if (passed == 0) origin = Sender;
                if (passed++ == laps) origin.Tell(t); // only the first member hears the token laps + 1 times
                else next.Tell(new Token(t.Hops + 1));
            });
        }
    }

    public static async Task Run(ActorSystem system, int members, IReadOnlyList<string> args)
    {
        var laps = args.Option("--laps", 3);
        var ring = Enumerable.Range(0, members).Select(_ => system.ActorOf(Props.Create(() => new Member(laps)))).ToList();
        for (var i = 0; i < members; i++) ring[i].Tell(new Successor(ring[(i + 1) % members]));
        var token = await ring[0].Ask<Token>(new Token(0));
        Console.WriteLine($"token made {laps} laps through {members} VRs, hops = {token.Hops}");
    }
}

using FsCheck;
using FsCheck.Fluent;

namespace River.Tests.Packets;

public class MatchingTests
{
    private static readonly VrId Me = VrId.New();

    private static Packet P(object attributes, VrId? src = null) => Packet.From(attributes, src ?? VrId.New(), Me);

    [Fact]
    public void Every_named_attribute_must_be_present_and_equal()
    {
        var m = Matcher.From(new { tag = "a", n = 1 });
        Assert.True(m.Matches(P(new { tag = "a", n = 1, extra = 2 })));
        Assert.False(m.Matches(P(new { tag = "a", n = 2 })));
        Assert.False(m.Matches(P(new { tag = "a" })));
    }

    [Fact]
    public void Match_Any_Where_and_OneOf()
    {
        Assert.True(Matcher.From(new { v = Match.Any }).Matches(P(new { v = (object?)null })));
        Assert.False(Matcher.From(new { v = Match.Any }).Matches(P(new { w = 1 })));
        Assert.True(Matcher.From(new { v = Match.Where<int>(x => x > 3) }).Matches(P(new { v = 4 })));
        Assert.False(Matcher.From(new { v = Match.Where<int>(x => x > 3) }).Matches(P(new { v = "4" })));
        Assert.True(Matcher.From(new { v = Match.OneOf("a", "b") }).Matches(P(new { v = "b" })));
        Assert.False(Matcher.From(new { v = Match.OneOf("a", "b") }).Matches(P(new { v = "c" })));
    }

    [Fact]
    public void Null_match_takes_any_packet_and_a_predicate_takes_what_it_accepts()
    {
        var box = new Mailbox();
        box.Post(P(new { n = 1 }));
        box.Post(P(new { n = 2 }));
        Assert.True(box.TryTake(Matcher.From(p => p.Get<int>("n") == 2), out var two));
        Assert.Equal(2, two.Get<int>("n"));
        Assert.True(box.TryTake(Matcher.From((object?)null), out var one));
        Assert.Equal(1, one.Get<int>("n"));
    }

    [Fact]
    public void Recv_returns_the_oldest_matching_packet_and_leaves_the_rest_in_order()
    {
        var box = new Mailbox();
        for (var i = 0; i < 6; i++) box.Post(P(new { tag = i % 2 == 0 ? "even" : "odd", i }));
        Assert.True(box.TryTake(Matcher.From(new { tag = "odd" }), out var p));
        Assert.Equal(1, p.Get<int>("i"));
        var rest = new List<int>();
        while (box.TryTake(Matcher.All, out var q)) rest.Add(q.Get<int>("i"));
        Assert.Equal([0, 2, 3, 4, 5], rest);
    }

    [Fact]
    public void Indexed_receive_finds_one_packet_among_100000_that_cannot_match()
    {
        var box = new Mailbox();
        for (var i = 0; i < 100_000; i++) box.Post(P(new { tag = "noise", i }));
        box.Post(P(new { tag = "wanted", i = -1 }));
        Assert.True(box.TryTake(Matcher.From(new { tag = "wanted" }), out var p));
        Assert.Equal(-1, p.Get<int>("i"));
        Assert.Equal(100_000, box.Count);
        Assert.True(box.TryTake(Matcher.From(new { tag = "noise" }), out var first));
        Assert.Equal(0, first.Get<int>("i"));
    }

    [Fact]
    public void Peek_leaves_the_packet_queued()
    {
        var box = new Mailbox();
        box.Post(P(new { tag = "x" }));
        Assert.NotNull(box.Peek(Matcher.From(new { tag = "x" })));
        Assert.Null(box.Peek(Matcher.From(new { tag = "y" })));
        Assert.Equal(1, box.Count);
    }

    /// <summary>The mailbox, with its lazy indexes, takes exactly what a naive scan of a list would.</summary>
    [Fact]
    public void Mailbox_agrees_with_a_naive_reference_matcher()
    {
        var senders = new[] { VrId.New(), VrId.New(), VrId.New() };
        var packetGen =
            from tag in Gen.Elements("a", "b", "c")
            from n in Gen.Choose(0, 3)
            from s in Gen.Choose(0, 2)
            from hasExtra in Gen.Elements(true, false)
            select hasExtra ? P(new { tag, n, extra = n * 2 }, senders[s]) : P(new { tag, n }, senders[s]);
        var matchGen = Gen.OneOf(
            Gen.Elements("a", "b", "c").Select(t => (object?)new { tag = t }),
            Gen.Choose(0, 3).Select(n => (object?)new { n }),
            Gen.Choose(0, 2).Select(s => (object?)new { src = senders[s], tag = Match.OneOf("a", "b") }),
            Gen.Choose(0, 3).Select(n => (object?)new { tag = "c", n = Match.Where<int>(x => x >= n) }),
            Gen.Constant((object?)new { extra = Match.Any }),
            Gen.Constant((object?)null));
        // A script: each step posts a packet or takes with a match.
        var stepGen = Gen.OneOf(packetGen.Select(p => (Post: (Packet?)p, Take: (object?)null)), matchGen.Select(m => (Post: (Packet?)null, Take: m)));
        // A prefix of posts fills the queue past the size where the mailbox starts to index.
        var scriptGen =
            from prefix in packetGen.Select(p => (Post: (Packet?)p, Take: (object?)null)).ListOf(60)
            from steps in stepGen.ListOf()
            from fill in Gen.Elements(true, false)
            select fill ? [.. prefix, .. steps] : steps.ToList();
        Prop.ForAll(scriptGen.ToArbitrary(), steps =>
        {
            var box = new Mailbox();
            var reference = new List<Packet>();
            foreach (var (post, take) in steps)
            {
                if (post is not null)
                {
                    box.Post(post);
                    reference.Add(post);
                    continue;
                }
                var m = Matcher.From(take);
                var expected = reference.FirstOrDefault(m.Matches);
                if (expected is not null) reference.Remove(expected);
                var got = box.TryTake(m, out var actual) ? actual : null;
                if (!ReferenceEquals(expected, got)) return false;
            }
            return box.Count == reference.Count;
        }).QuickCheckThrowOnFailure();
    }
}

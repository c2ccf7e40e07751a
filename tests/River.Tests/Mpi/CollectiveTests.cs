using River.Mpi;

namespace River.Tests.Mpi;

/// <summary>Every collective, and each algorithm alone, on rank counts that are and are not powers of two.</summary>
public sealed class CollectiveTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(7)]
    public async Task Collectives_give_what_a_sequential_computation_gives(int ranks) =>
        await Embedded.RunAsync<Collectives>(ranks);

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(8)]
    public async Task Each_algorithm_alone_gives_the_same_answer(int ranks) =>
        await Embedded.RunAsync<Algorithms>(ranks, vms: 2);

    [Fact]
    public async Task Split_makes_communicators_ordered_by_key_whose_messages_stay_apart() =>
        await Embedded.RunAsync<Splits>(6);

    [Fact]
    public void Decision_takes_latency_algorithms_for_small_messages_and_bandwidth_ones_for_big()
    {
        Assert.False(Decision.UseRabenseifner(4, 1, sizeof(double)));
        Assert.True(Decision.UseRabenseifner(4, 1 << 17, sizeof(double)));
        Assert.False(Decision.UseRabenseifner(8, 4, 1 << 20)); // fewer elements than ranks: nothing to scatter
        Assert.False(Decision.UseRing(4, Decision.BytesOf(1.0)));
        Assert.True(Decision.UseRing(4, Decision.BytesOf(new double[1 << 17])));
    }

    /// <summary>Rank r contributes r + 1 (and arrays of (r + 1)·(i + 1)); results are checked against closed forms.</summary>
    public sealed class Collectives : MpiProgram
    {
        protected override void Run(Communicator world)
        {
            int n = world.Size, r = world.Rank;
            world.Barrier();

            var word = r == n - 1 ? "from the last rank" : "ignored";
            world.Broadcast(ref word, root: n - 1);
            Expect.Equal("from the last rank", word, "Broadcast");

            var sum = n * (n + 1) / 2;
            Expect.Equal(r == 0 ? sum : 0, world.Reduce(r + 1, Operation<int>.Add, 0), "Reduce");
            Expect.Equal((double)sum, world.Allreduce(r + 1.0, Operation<double>.Add), "Allreduce Add");
            Expect.Equal(Factorial(n), world.Allreduce((long)r + 1, Operation<long>.Multiply), "Allreduce Multiply");
            Expect.Equal(1, world.Allreduce(r + 1, Operation<int>.Min), "Allreduce Min");
            Expect.Equal(n, world.Allreduce(r + 1, Operation<int>.Max), "Allreduce Max");

            foreach (var length in new[] { 3, 40_000 }) // recursive doubling, then Rabenseifner
            {
                var mine = Enumerable.Range(0, length).Select(i => (r + 1.0) * (i + 1)).ToArray();
                var expected = Enumerable.Range(0, length).Select(i => (double)sum * (i + 1));
                Expect.Sequence(expected, world.Allreduce(mine, Operation<double>.Add), $"Allreduce of {length} doubles");
                var atRoot = world.Reduce(mine, Operation<double>.Add, root: n / 2);
                if (r == n / 2) Expect.Sequence(expected, atRoot, $"Reduce of {length} doubles");
                else Expect.Equal(null, atRoot, "Reduce's result away from the root");
                Expect.Equal((r + 1.0) * length, mine[^1], "the array passed to Allreduce, unchanged");
            }

            var ranks = Enumerable.Range(0, n).ToArray();
            var gathered = world.Gather(r * 10, root: 1 % n);
            if (r == 1 % n) Expect.Sequence(ranks.Select(i => i * 10), gathered, "Gather");
            else Expect.Equal(null, gathered, "Gather away from the root");
            Expect.Sequence(ranks.Select(i => $"rank {i}"), world.Allgather($"rank {r}"), "Allgather (Bruck)");
            var big = world.Allgather(new double[20_000]); // ring
            Expect.Equal(n, big.Length, "Allgather (ring) count");

            var scattered = world.Scatter(r == 0 ? ranks.Select(i => i * i).ToArray() : null!, root: 0);
            Expect.Equal(r * r, scattered, "Scatter");
            var exchanged = world.Alltoall(ranks.Select(to => (r, to)).ToArray());
            Expect.Sequence(ranks.Select(from => (from, r)), exchanged, "Alltoall");
        }

        private static long Factorial(int n) => n <= 1 ? 1 : n * Factorial(n - 1);
    }

    /// <summary>The algorithms Decision chooses between, each called on its own.</summary>
    public sealed class Algorithms : MpiProgram
    {
        protected override void Run(Communicator world)
        {
            int n = world.Size, r = world.Rank;
            var mine = Enumerable.Range(0, 2 * n + 1).Select(i => (long)(r + 1) << i).ToArray();
            var expected = Enumerable.Range(0, 2 * n + 1).Select(i => (long)n * (n + 1) / 2 << i);
            Expect.Sequence(expected, RecursiveDoublingAllreduce.Run(world, mine, Operation<long>.Add), "recursive doubling");
            Expect.Sequence(expected, RabenseifnerAllreduce.Run(world, mine, Operation<long>.Add), "Rabenseifner");
            var ranks = Enumerable.Range(0, n);
            Expect.Sequence(ranks, BruckAllgather.Run(world, r), "Bruck");
            Expect.Sequence(ranks, RingAllgather.Run(world, r), "ring");
            DisseminationBarrier.Run(world);
            for (var root = 0; root < n; root++)
            {
                Expect.Equal(root * 3, BinomialBroadcast.Run(world, r * 3, root), $"binomial broadcast from {root}");
                var reduced = BinomialReduce.Run(world, [r], Operation<int>.Add, root);
                if (r == root) Expect.Sequence([n * (n - 1) / 2], reduced, $"binomial reduce to {root}");
                var gathered = BinomialGather.Run(world, r, root);
                if (r == root) Expect.Sequence(ranks, gathered, $"binomial gather to {root}");
                Expect.Equal(r + 100, BinomialScatter.Run(world, [.. ranks.Select(i => i + 100)], root), $"binomial scatter from {root}");
            }
            Expect.Sequence(ranks.Select(i => i * n + r), PairwiseAlltoall.Run(world, [.. ranks.Select(i => r * n + i)]), "pairwise alltoall");
        }
    }

    public sealed class Splits : MpiProgram
    {
        protected override void Run(Communicator world)
        {
            // Evens and odds, each ordered by descending world rank.
            var half = world.Split(world.Rank % 2, key: -world.Rank);
            Expect.Equal(3, half.Size, "size of a half");
            Expect.Equal(2 - world.Rank / 2, half.Rank, "rank in the half");
            // A message on the half does not satisfy a receive on world, and the other way round.
            if (half.Rank == 0) half.Send(world.Rank, 1, 0);
            if (world.Rank == 0) world.Send("world", 1, 0);
            if (world.Rank == 1) Expect.Equal("world", world.Receive<string>(0, 0), "world's message");
            if (half.Rank == 1) Expect.Equal(world.Rank % 2 == 0 ? 4 : 5, half.Receive<int>(0, 0), "the half's message");
            Expect.Equal(world.Rank % 2 == 0 ? 0 + 2 + 4 : 1 + 3 + 5, half.Allreduce(world.Rank, Operation<int>.Add), "Allreduce in a half");
            var quarter = half.Split(half.Rank == 0 ? 0 : 1, key: 0);
            Expect.Equal(half.Rank == 0 ? 1 : 2, quarter.Size, "size after a second split");
            quarter.Barrier();
            world.Barrier();
        }
    }
}

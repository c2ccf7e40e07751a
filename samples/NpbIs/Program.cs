using River.Mpi;

// NPB IS (integer sort), class S: 2^16 keys below 2^11 from NPB's generator, ranked ten times. Each rank
// generates its share of the keys; every iteration the keys go, by value range, to the rank owning that
// range (Alltoall), which counts them; an Allgather of the counts turns local counts into global ranks.
// The five test keys are checked against NPB's published ranks, and the final order in full.
return await MpiApp.RunAsync<NpbIs>(args);

public sealed class NpbIs : MpiProgram
{
    private const int TotalKeys = 1 << 16, MaxKey = 1 << 11, Iterations = 10;
    private const double Seed = 314159265.0;
    private static readonly int[] TestIndex = [48427, 17148, 23627, 62548, 4431];
    private static readonly int[] TestRank = [0, 18, 346, 64917, 65463];

    private int _rank, _size, _first, _last, _passed;
    private int[] _keys = [];
    private Communicator _world = null!;

    protected override void Run(Communicator world)
    {
        if (NpbClass.Parse(Args) != 'S') throw new ArgumentException("this IS runs class S only");
        (_world, _rank, _size) = (world, world.Rank, world.Size);
        (_first, _last) = ((int)((long)TotalKeys * _rank / _size), (int)((long)TotalKeys * (_rank + 1) / _size));
        _keys = CreateKeys(_first, _last);
        var started = DateTime.UtcNow;
        Rank(1); // NPB's untimed first iteration
        _passed = 0;
        int[] counts = [];
        for (var iteration = 1; iteration <= Iterations; iteration++) counts = Rank(iteration);
        var seconds = (DateTime.UtcNow - started).TotalSeconds;
        var outOfOrder = world.Allreduce(OutOfOrder(counts), Operation<int>.Add);
        if (_rank != 0) return;
        if (outOfOrder == 0) _passed++;
        else Console.WriteLine($"Full_verify: number of keys out of sort: {outOfOrder}");
        Console.WriteLine(" NAS Parallel Benchmarks (River.Mpi) - IS Benchmark");
        Console.WriteLine($" Size:  {TotalKeys}  (class S)");
        Console.WriteLine($" Iterations: {Iterations}");
        Console.WriteLine($" Number of ranks: {_size}");
        Console.WriteLine($" Time in seconds = {seconds:F4}");
        Console.WriteLine($" Passed verifications: {_passed} of {5 * Iterations + 1}");
        Console.WriteLine($" Class           =                        S");
        Console.WriteLine(NpbClass.Verdict(_passed == 5 * Iterations + 1));
    }

    /// <summary>Keys [first, last) of NPB's sequence: each is MaxKey/4 times a sum of four uniform numbers.</summary>
    private static int[] CreateKeys(int first, int last)
    {
        var seed = NpbRandom.Skip(Seed, NpbRandom.A, 4L * first);
        var keys = new int[last - first];
        for (var i = 0; i < keys.Length; i++)
        {
            var x = NpbRandom.Next(ref seed, NpbRandom.A) + NpbRandom.Next(ref seed, NpbRandom.A)
                + NpbRandom.Next(ref seed, NpbRandom.A) + NpbRandom.Next(ref seed, NpbRandom.A);
            keys[i] = (int)(MaxKey / 4 * x);
        }
        return keys;
    }

    /// <summary>One ranking: returns this rank's cumulative counts of the key values it owns (the keys below each, from its own range's start).</summary>
    private int[] Rank(int iteration)
    {
        SetKey(iteration, iteration);
        SetKey(iteration + Iterations, MaxKey - iteration);
        var tested = _world.Allreduce(TestIndex.Select(i => i >= _first && i < _last ? _keys[i - _first] : -1).ToArray(), Operation<int>.Max);

        // Each key goes to the rank owning its value range.
        var outgoing = new List<int>[_size];
        for (var r = 0; r < _size; r++) outgoing[r] = [];
        foreach (var key in _keys) outgoing[OwnerOf(key)].Add(key);
        var incoming = _world.Alltoall(outgoing.Select(l => l.ToArray()).ToArray());

        var (low, high) = RangeOf(_rank);
        var counts = new int[high - low];
        foreach (var block in incoming)
            foreach (var key in block) counts[key - low]++;
        for (var i = 1; i < counts.Length; i++) counts[i] += counts[i - 1];
        var totals = _world.Allgather(counts.Length == 0 ? 0 : counts[^1]);
        var below = totals.Take(_rank).Sum(); // keys owned by lower ranks

        // Rank of test key k: the number of keys below k, told by the owner of value k - 1.
        var ranks = _world.Allreduce(tested.Select(k => k > 0 && k - 1 >= low && k - 1 < high ? below + counts[k - 1 - low] : k == 0 && _rank == 0 ? 0 : -1).ToArray(), Operation<int>.Max);
        for (var i = 0; i < TestIndex.Length; i++)
        {
            var expected = i <= 2 ? TestRank[i] + iteration : TestRank[i] - iteration;
            if (ranks[i] == expected) _passed++;
            else if (_rank == 0) Console.WriteLine($"Failed partial verification: iteration {iteration}, test key {i}");
        }
        return counts;
    }

    private void SetKey(int index, int value)
    {
        if (index >= _first && index < _last) _keys[index - _first] = value;
    }

    private (int Low, int High) RangeOf(int rank) => ((int)((long)MaxKey * rank / _size), (int)((long)MaxKey * (rank + 1) / _size));

    private int OwnerOf(int key)
    {
        var r = key * _size / MaxKey; // ranges are rounded down: the next one may start at this key
        return r + 1 < _size && RangeOf(r + 1).Low <= key ? r + 1 : r;
    }

    /// <summary>Sorts this rank's keys by their counts and counts pairs out of order, across the boundary with the next rank too.</summary>
    private int OutOfOrder(int[] counts)
    {
        var (low, _) = RangeOf(_rank);
        var sorted = new int[counts.Length == 0 ? 0 : counts[^1]];
        for (var v = 0; v < counts.Length; v++)
            for (var i = v == 0 ? 0 : counts[v - 1]; i < counts[v]; i++) sorted[i] = low + v;
        var wrong = sorted.Zip(sorted.Skip(1)).Count(p => p.First > p.Second);
        var ends = _world.Allgather(sorted.Length == 0 ? (First: int.MaxValue, Last: int.MinValue) : (First: sorted[0], Last: sorted[^1]));
        var keys = _world.Allreduce(sorted.Length, Operation<int>.Add);
        if (_rank != 0) return wrong;
        // Rank 0 judges what lies between ranks: every rank's keys below every later rank's, and none lost.
        for (var r = 0; r + 1 < _size; r++)
            wrong += ends.Skip(r + 1).Count(later => later.First < ends[r].Last);
        return wrong + Math.Abs(TotalKeys - keys);
    }
}

using River;

// Counts the primes below --limit with Trickle, on every VM of the cluster (or an embedded one):
// ForkWork hands each VM its next block as soon as it is idle; the counts stream back as they are ready.
await using var trickle = await Trickle.Connect(args);
var limit = trickle.Args.Option("--limit", 1_000_000);
const int Block = 20_000;
var blocks = Enumerable.Range(0, (limit + Block - 1) / Block);
var count = await trickle.ForkWork(blocks, b => CountPrimes(b * Block, Math.Min(limit, (b + 1) * Block))).SumAsync();
Console.WriteLine($"primes below {limit:N0}: {count} (counted on {trickle.Vms.Count} VMs)");

static int CountPrimes(int from, int to)
{
    var n = 0;
    for (var i = Math.Max(from, 2); i < to; i++)
        if (IsPrime(i)) n++;
    return n;
}

static bool IsPrime(int n)
{
    for (var d = 2; d * d <= n; d++)
        if (n % d == 0) return false;
    return true;
}

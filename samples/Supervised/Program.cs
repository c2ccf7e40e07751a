using River;

// A supervisor keeps its workers running: each counts the primes in its share of [2, --limit) and
// reports to the initiator. Worker 1 crashes on purpose on its first run; the supervisor sees it
// fail (it is linked to its workers and traps exits: a river.exit packet), starts it again on the next VM, and the total still comes out right.
return await RiverApp.RunAsync<Primes>(args);

public sealed class Primes : VirtualResource
{
    protected override void Main()
    {
        int limit = Args.Option("--limit", 200_000), workers = Args.Option("--workers", 4);
        var supervisor = Deploy<PrimeWorkers>(Vm, Id, limit, workers);
        Monitor(supervisor);
        long total = 0;
        for (var reported = 0; reported < workers;)
        {
            var p = Recv(new { tag = Match.OneOf("count", "river.down") });
            if (p.Get<string>("tag") == "count")
            {
                total += p.Get<long>("count");
                reported++;
            }
            else if (p.Get<string>("reason") != "normal") // it ends normally once every worker is done, maybe before their counts arrive
                throw new InvalidOperationException($"the supervisor gave up: {p.Get<string?>("error")}");
        }
        Console.WriteLine($"primes below {limit:N0}: {total} (counted by {workers} supervised workers)");
    }
}

public sealed class PrimeWorkers : Supervisor
{
    protected override IEnumerable<ChildSpec> Children()
    {
        var (initiator, limit, workers) = ((VrId)DeployArgs[0]!, (int)DeployArgs[1]!, (int)DeployArgs[2]!);
        return Enumerable.Range(0, workers).Select(i => new ChildSpec(typeof(PrimeWorker), initiator, limit, workers, i));
    }

    protected override void OnChildFailed(int index, string reason, string? error) =>
        Console.WriteLine($"worker {index} {reason} ({error}); the supervisor starts it again");
}

public sealed class PrimeWorker : VirtualResource
{
    protected override void Main()
    {
        var (initiator, limit, workers, index, restarts) = ((VrId)DeployArgs[0]!, (int)DeployArgs[1]!, (int)DeployArgs[2]!, (int)DeployArgs[3]!, (int)DeployArgs[4]!);
        if (index == 1 && restarts == 0) throw new InvalidOperationException("worker 1 crashes on its first run, on purpose");
        long count = 0;
        for (var n = Math.Max(2, (long)limit * index / workers); n < (long)limit * (index + 1) / workers; n++)
            if (IsPrime(n)) count++;
        Send(initiator, new { tag = "count", index, count });
    }

    private static bool IsPrime(long n)
    {
        for (long d = 2; d * d <= n; d++)
            if (n % d == 0) return false;
        return true;
    }
}

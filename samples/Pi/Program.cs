using River;

// Monte Carlo pi: one worker per VM throws `--samples N` darts at the unit square and reports how
// many land inside the quarter circle. Each worker seeds its generator with its index, so a run
// on the same number of VMs always prints the same estimate.
return await RiverApp.RunAsync<Pi>(args);

public sealed class Pi : VirtualResource
{
    protected override void Main()
    {
        if (Parent is null)
        {
            var samples = Args.Option("--samples", 1_000_000);
            var vms = Discover();
            // One deploy per VM, so each worker gets its own index to seed with.
            var workers = vms.Select((vm, index) => Deploy<Pi>(vm, index)).ToList();
            foreach (var w in workers) Send(w, new { tag = "n", n = samples });
            long hits = 0;
            foreach (var w in workers) hits += Recv(new { tag = "hits", src = w }).Get<long>("value");
            Classics.PrintPi(hits, samples, workers.Count);
        }
        else
        {
            var n = Recv(new { tag = "n" }).Get<int>("n");
            Send(Parent.Value, new { tag = "hits", value = Classics.CountHits(n, seed: (int)DeployArgs[0]!) });
        }
    }

}

using System.Diagnostics;
using River;

// A counter mirrored on two VMs (active replication): the initiator sends `--count` numbered requests, at most
// `--window` unanswered, and checks that each is answered once, in order, with the right running sum, whatever
// happens to one replica's VM meanwhile (kill it: the other goes on under the same VrId). The replicas go on the
// VMs with attribute role=primary and role=mirror, else on the first two other VMs. Every 1,000 answers it prints
// "at N"; at the end, the longest wait for an answer (a failover's cost, as the client sees it).
return await RiverApp.RunAsync<MirrorClient>(args);

public sealed class MirrorClient : VirtualResource
{
    protected override void Main()
    {
        int count = Args.Option("--count", 30_000), window = Args.Option("--window", 200);
        var others = Discover().Where(v => v.Id != Vm.Id).ToList();
        if (others.Count < 2) throw new InvalidOperationException("a mirrored counter needs two VMs besides this one");
        VmInfo Pick(string role, int fallback) => others.FirstOrDefault(v => Equals(v.Attributes.GetValueOrDefault("role"), role)) ?? others[fallback];
        var counter = DeployMirrored<MirroredCounter>([Pick("primary", 0), Pick("mirror", 1)], false);
        var watch = Stopwatch.StartNew();
        var (sent, answered) = (0, 0);
        long sum = 0;
        TimeSpan last = TimeSpan.Zero, longest = TimeSpan.Zero;
        while (answered < count)
        {
            while (sent < count && sent - answered < window) Send(counter, new { tag = "add", k = ++sent });
            var reply = Recv(new { tag = "sum" });
            var k = reply.Get<int>("k");
            if (k != answered + 1) throw new InvalidOperationException($"answer {k} came where {answered + 1} was due: one was lost, repeated or out of order");
            if (reply.Get<long>("sum") != (sum += k)) throw new InvalidOperationException($"answer {k} says {reply.Get<long>("sum")}, not {sum}");
            answered++;
            var now = watch.Elapsed;
            if (now - last > longest) longest = now - last;
            last = now;
            if (answered % 1000 == 0) Console.WriteLine($"at {answered}");
        }
        Send(counter, new { tag = "stop" });
        Console.WriteLine($"answered {answered} of {count}, once each, in order, sums right, in {watch.Elapsed.TotalSeconds:0.00} s; longest wait {longest.TotalMilliseconds:0} ms");
    }
}

using River;
using River.Hosting;

// A minimal web API that hands each request to VRs on the cluster: a pool of prime counters, one per VM.
// Embedded by default (River:Vms VMs in this process); with River:Seeds it joins a cluster of river vm processes.
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddRiver(builder.Configuration.GetSection("River"));
builder.Services.AddSingleton<Pool>();
var app = builder.Build();

app.MapGet("/primes/{upto:int}", async (int upto, Pool pool, RiverHost river) =>
{
    var worker = await pool.NextAsync();
    var reply = await river.Spawn(async me =>
    {
        me.Send(worker, new { tag = "count", upto });
        return await me.RecvAsync(new { tag = "counted", src = worker }, TimeSpan.FromSeconds(30));
    });
    return Results.Ok(new { upto, primes = reply.Get<int>("primes"), vm = reply.Get<string>("vm") });
});
app.Run();

/// <summary>One counter per VM, deployed the first time a request needs one; requests take them in turn.</summary>
public sealed class Pool(RiverHost river)
{
    private readonly Lazy<Task<IReadOnlyList<VrId>>> _workers = new(() => river.Spawn(me => Task.FromResult(me.Deploy<PrimeCounter>(me.Discover()))));
    private int _next;

    public async Task<VrId> NextAsync()
    {
        var workers = await _workers.Value;
        return workers[(int)((uint)Interlocked.Increment(ref _next) % workers.Count)];
    }
}

/// <summary>Counts the primes up to a bound for whoever asks, until its VM stops.</summary>
public sealed class PrimeCounter : VirtualResource
{
    protected override void Main()
    {
        while (true)
        {
            var ask = Recv(new { tag = "count" });
            var upto = ask.Get<int>("upto");
            var primes = Enumerable.Range(2, Math.Max(0, upto - 1)).Count(n => Enumerable.Range(2, (int)Math.Sqrt(n) - 1).All(d => n % d != 0));
            Send(ask.Src, new { tag = "counted", primes, vm = Vm.Id.ToString() });
        }
    }
}

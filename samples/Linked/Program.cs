using River;

// Links, as in Erlang: the initiator starts a worker on another VM and links with it. The worker does not
// trap exits: should the initiator fail or its VM die, the worker's next Send throws and it ends too,
// instead of running on as an orphan. The initiator traps exits: the worker's end, whatever it is, comes
// to it as a river.exit packet. --ticks N: the worker sends N ticks, 100 ms apart, then returns (default 20);
// --fail-at K: it throws at tick K instead.
return await RiverApp.RunAsync<Overseer>(args);

public sealed class Overseer : VirtualResource
{
    protected override void Main()
    {
        int ticks = Args.Option("--ticks", 20), failAt = Args.Option("--fail-at", 0, min: 0);
        var vms = Discover();
        var where = vms.FirstOrDefault(v => v.Id != Vm.Id) ?? Vm;
        TrapExits = true; // a linked VR's end is a packet to this VR, not an error
        var worker = Deploy<Ticker>(where, Id, ticks, failAt);
        Link(worker);
        Console.WriteLine($"linked to worker {worker} on VM {where.Id}");
        for (var seen = 0; ; seen++)
        {
            var p = Recv(new { tag = Match.OneOf("tick", "river.exit") });
            if (p.Get<string>("tag") == "tick") continue;
            var error = p.Get<string?>("error");
            Console.WriteLine($"worker ended: {p.Get<string>("reason")}{(error is null ? "" : $" ({error})")} after {seen} ticks");
            return;
        }
    }
}

public sealed class Ticker : VirtualResource
{
    protected override void Main()
    {
        var (overseer, ticks, failAt) = ((VrId)DeployArgs[0]!, (int)DeployArgs[1]!, (int)DeployArgs[2]!);
        for (var n = 1; n <= ticks; n++)
        {
            if (n == failAt) throw new InvalidOperationException($"the worker fails at tick {n}, on purpose");
            Send(overseer, new { tag = "tick", n }); // throws LinkedVrFailedException once the overseer is gone
            Thread.Sleep(100);
        }
    }
}

using River;

// Token ring: `--vrs K` members (default one per VM) pass a token to their successor `--laps M`
// times round; the token counts its hops, so it must come back with M*K.
return await RiverApp.RunAsync<Ring>(args);

public sealed class Ring : VirtualResource
{
    protected override void Main()
    {
        if (Parent is null) Start(Args.Option("--laps", 3));
        else Pass(laps: (int)DeployArgs[0]!);
    }

    private void Start(int laps)
    {
        var vms = Discover();
        var size = Args.Option("--vrs", vms.Count);
        // Members go round-robin over the VMs, so successive members sit on different VMs.
        var members = Deploy<Ring>(Enumerable.Range(0, size).Select(i => vms[i % vms.Count]), laps);
        for (var i = 0; i < size; i++)
            Send(members[i], new { tag = "successor", next = members[(i + 1) % size], first = i == 0 });
        Send(members[0], new { tag = "token", hops = 0 });
        var hops = Recv(new { tag = "done" }).Get<int>("hops");
        Console.WriteLine($"token made {laps} laps through {size} VRs, hops = {hops}");
    }

    // Every member forwards the token once a lap; the first member also gets it back after the last lap.
    private void Pass(int laps)
    {
        var successor = Recv(new { tag = "successor" });
        var next = successor.Get<VrId>("next");
        for (var lap = 0; lap < laps; lap++)
            Send(next, new { tag = "token", hops = Recv(new { tag = "token" }).Get<int>("hops") + 1 });
        if (successor.Get<bool>("first"))
            Send(Parent!.Value, new { tag = "done", hops = Recv(new { tag = "token" }).Get<int>("hops") });
    }
}

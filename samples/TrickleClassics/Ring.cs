using River;

// Token ring: the script carries the token round the VMs, `--laps M` times, each VM adding its hop.
// Trickle has no messages between VMs, so every hop goes through the script (a star, not a ring).
internal static class TrickleRing
{
    public static async Task Run(Trickle trickle)
    {
        var laps = trickle.Args.Option("--laps", 3);
        var hops = 0;
        for (var lap = 0; lap < laps; lap++)
            foreach (var vm in trickle.Vms)
                hops = await trickle.Call(vm, h => h + 1, hops);
        Console.WriteLine($"token made {laps} laps through {trickle.Vms.Count} VRs, hops = {hops}");
    }
}

using River;

// 1-D heat: a block object injected on each VM; every step the script hands each block its neighbours'
// edge cells and gets its new edges back (all blocks at once). Trickle has no messages between VMs, so
// the halos go through the script.
internal static class TrickleHeat
{
    public static async Task Run(Trickle trickle)
    {
        int cells = trickle.Args.Option("--cells", 1000), steps = trickle.Args.Option("--steps", 500), n = trickle.Vms.Count;
        var initial = Classics.InitialTemperatures(cells);
        var blocks = trickle.Vms.Select((vm, i) => trickle.Inject<IHeatBlock, HeatBlock>(vm, initial[Blocks.Of(cells, n, i)])).ToList();
        var edges = blocks.Select((_, i) => initial[Blocks.Of(cells, n, i)]).Select(b => (First: b[0], Last: b[^1])).ToArray();
        for (var step = 0; step < steps; step++)
        {
            var e = edges;
            edges = await Task.WhenAll(blocks.Select((b, i) =>
                b.Step(i > 0 ? e[i - 1].Last : Classics.EdgeTemperature, i < n - 1 ? e[i + 1].First : Classics.EdgeTemperature)));
        }
        Classics.PrintHeat(initial, steps, n, [.. (await Task.WhenAll(blocks.Select(b => b.Cells()))).SelectMany(c => c)]);
    }
}

public interface IHeatBlock
{
    Task<(double First, double Last)> Step(double leftGhost, double rightGhost);

    Task<double[]> Cells();
}

public sealed class HeatBlock(double[] cells) : IHeatBlock
{
    private double[] _cells = cells;

    public Task<(double First, double Last)> Step(double leftGhost, double rightGhost)
    {
        _cells = Classics.HeatStep(_cells, leftGhost, rightGhost);
        return Task.FromResult((_cells[0], _cells[^1]));
    }

    public Task<double[]> Cells() => Task.FromResult(_cells);
}

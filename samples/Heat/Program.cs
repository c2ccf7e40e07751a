using System.Diagnostics;
using River;

// 1-D heat equation, explicit stencil: `--cells N` cells (default 1000) cut into one block per VM.
// Each step a worker sends its edge cells to its neighbours and receives theirs, selecting the
// packets of this step by tag; after `--steps S` (default 500) the initiator gathers the blocks and
// checks them bit for bit against a sequential run of the same arithmetic.
// With `--checkpoint-dir DIR` the workers checkpoint every `--checkpoint-every K` steps (default 100):
// kill a VM mid-run and its worker comes back on another from the last round, with the same result.
return await RiverApp.RunAsync<Heat>(args);

public sealed class Heat : VirtualResource
{
    private const double Rate = 0.25;        // alpha * dt / dx^2; stable below 0.5
    private const double EdgeTemperature = 0; // the fixed cells just outside both ends of the rod

    protected override void Main()
    {
        if (Parent is null) RunAndCheck(Args.Option("--cells", 1000), Args.Option("--steps", 500));
        else Work();
    }

    // A worker's state, which Checkpoint() saves and a restarted worker finds again.
    private double[] _cells = [];
    private VrId? _left, _right;
    private int _steps, _every, _step;

    private void RunAndCheck(int cells, int steps)
    {
        var initial = InitialTemperatures(cells);
        var vms = Discover();
        if (cells < vms.Count) throw new ArgumentException($"--cells must be at least the number of VMs ({vms.Count}).");
        var clock = Stopwatch.StartNew();
        var workers = Deploy<Heat>(vms);
        for (var i = 0; i < workers.Count; i++)
        {
            Send(workers[i], new
            {
                tag = "block",
                cells = initial[Blocks.Of(cells, workers.Count, i)],
                left = i > 0 ? workers[i - 1] : (VrId?)null,
                right = i < workers.Count - 1 ? workers[i + 1] : (VrId?)null,
                steps,
                every = Args.Option("--checkpoint-every", 100),
            });
        }
        var parallel = workers.SelectMany(w => Recv(new { tag = "result", src = w }).Get<double[]>("cells")).ToArray();
        var elapsed = clock.Elapsed;
        var sequential = initial;
        for (var s = 0; s < steps; s++) sequential = Step(sequential, EdgeTemperature, EdgeTemperature);

        Console.WriteLine($"cells: {cells}, steps: {steps}, workers: {workers.Count}");
        Console.WriteLine($"checksum: {parallel.Sum():R}");
        Console.WriteLine($"parallel run: {elapsed.TotalSeconds:0.000} s (deploy to results)");
        Console.WriteLine($"matches sequential: {parallel.Select(BitConverter.DoubleToInt64Bits).SequenceEqual(sequential.Select(BitConverter.DoubleToInt64Bits))}");
    }

    private void Work()
    {
        if (!Restored)
        {
            var block = Recv(new { tag = "block" });
            _cells = block.Get<double[]>("cells");
            (_left, _right) = (block.Get<VrId?>("left"), block.Get<VrId?>("right"));
            (_steps, _every) = (block.Get<int>("steps"), block.Get<int>("every"));
        }
        for (; _step < _steps; _step++)
        {
            if (_step % _every == 0) Checkpoint(); // returns at once without --checkpoint-dir
            // `side` names the receiver's ghost cell the value fills.
            if (_left is { } l) Send(l, new { tag = "halo", step = _step, side = "right", value = _cells[0] });
            if (_right is { } r) Send(r, new { tag = "halo", step = _step, side = "left", value = _cells[^1] });
            // A neighbour may already be a step ahead; matching on the step keeps its next halo queued.
            var leftGhost = _left is null ? EdgeTemperature : Recv(new { tag = "halo", step = _step, side = "left" }).Get<double>("value");
            var rightGhost = _right is null ? EdgeTemperature : Recv(new { tag = "halo", step = _step, side = "right" }).Get<double>("value");
            _cells = Step(_cells, leftGhost, rightGhost);
        }
        Send(Parent!.Value, new { tag = "result", cells = _cells });
    }

    /// <summary>One explicit step of a block between two ghost cells; the parallel and sequential runs share it, so they agree bit for bit.</summary>
    private static double[] Step(double[] u, double leftGhost, double rightGhost)
    {
        var next = new double[u.Length];
        for (var i = 0; i < u.Length; i++)
        {
            var before = i > 0 ? u[i - 1] : leftGhost;
            var after = i < u.Length - 1 ? u[i + 1] : rightGhost;
            next[i] = u[i] + Rate * (before - 2 * u[i] + after);
        }
        return next;
    }

    // Random, not smooth, temperatures: every block edge carries heat from the first step on.
    private static double[] InitialTemperatures(int cells)
    {
        var random = new Random(1);
        return [.. Enumerable.Range(0, cells).Select(_ => 100 * random.NextDouble())];
    }
}

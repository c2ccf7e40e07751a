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
        var initial = Classics.InitialTemperatures(cells);
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
        Classics.PrintHeat(initial, steps, workers.Count, parallel, elapsed: clock.Elapsed);
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
            var leftGhost = _left is null ? Classics.EdgeTemperature : Recv(new { tag = "halo", step = _step, side = "left" }).Get<double>("value");
            var rightGhost = _right is null ? Classics.EdgeTemperature : Recv(new { tag = "halo", step = _step, side = "right" }).Get<double>("value");
            _cells = Classics.HeatStep(_cells, leftGhost, rightGhost);
        }
        Send(Parent!.Value, new { tag = "result", cells = _cells });
    }

}

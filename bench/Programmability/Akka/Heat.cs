using Akka.Actor;

// 1-D heat: one block actor per --workers; each step a block tells its neighbours its edge cells and steps
// once it holds both ghosts of that step. An actor takes messages in arrival order (no selective receive),
// so halos of steps it has not reached are kept by step until it gets there.
internal static class AkkaHeat
{
    private sealed record Neighbours(IActorRef? Left, IActorRef? Right);

    private sealed record Halo(int Step, bool FromLeft, double Value);

    private sealed class Block : ReceiveActor
    {
        private readonly Dictionary<(int Step, bool FromLeft), double> _early = [];
        private readonly int _steps;
        private double[] _cells;
        private int _step;
        private IActorRef? _left, _right, _result;

        public Block(double[] cells, int steps)
        {
            (_cells, _steps) = (cells, steps);
            Receive<Neighbours>(n =>
            {
                (_left, _right, _result) = (n.Left, n.Right, Sender);
                SendEdges();
                TryStep();
            });
            Receive<Halo>(h =>
            {
                _early[(h.Step, h.FromLeft)] = h.Value;
                TryStep();
            });
        }

        private void SendEdges()
        {
            if (_step == _steps)
            {
                _result!.Tell(_cells);
                return;
            }
            _left?.Tell(new Halo(_step, FromLeft: false, _cells[0]));
            _right?.Tell(new Halo(_step, FromLeft: true, _cells[^1]));
        }

        private void TryStep()
        {
            while (_result is not null && _step < _steps && Ghost(_left, fromLeft: true, out var left) && Ghost(_right, fromLeft: false, out var right))
            {
                _early.Remove((_step, true));
                _early.Remove((_step, false));
                _cells = Classics.HeatStep(_cells, left, right);
                _step++;
                SendEdges();
            }
        }

        private bool Ghost(IActorRef? neighbour, bool fromLeft, out double value)
        {
            value = Classics.EdgeTemperature;
            return neighbour is null || _early.TryGetValue((_step, fromLeft), out value);
        }
    }

    public static async Task Run(ActorSystem system, int workers, IReadOnlyList<string> args)
    {
        int cells = args.Option("--cells", 1000), steps = args.Option("--steps", 500);
        var initial = Classics.InitialTemperatures(cells);
        var blocks = Enumerable.Range(0, workers).Select(i => initial[Blocks.Of(cells, workers, i)])
            .Select(block => system.ActorOf(Props.Create(() => new Block(block, steps)))).ToList();
        var rod = await Task.WhenAll(blocks.Select((b, i) => b.Ask<double[]>(new Neighbours(i > 0 ? blocks[i - 1] : null, i < workers - 1 ? blocks[i + 1] : null))));
        Classics.PrintHeat(initial, steps, workers, [.. rod.SelectMany(c => c)]);
    }
}

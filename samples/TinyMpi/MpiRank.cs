using River;

/// <summary>
/// A tiny MPI on River's core (docs/tutorial-build-a-runtime.md): a rank is a VR, a message is a packet,
/// and the collectives are loops of sends and receives. Subclass it and write <see cref="Run"/>.
/// </summary>
public abstract class MpiRank : VirtualResource
{
    /// <summary>Receive from any rank.</summary>
    public const int AnySource = -1;

    // Collectives use tags of their own, below the user's (0 and up), so they never take a user's message.
    private const int BroadcastTag = -1, ReduceTag = -2;

    private VrId[] _ranks = [];

    /// <summary>This rank, 0 to <see cref="Size"/> - 1.</summary>
    public int Rank { get; private set; }

    /// <summary>How many ranks.</summary>
    public int Size => _ranks.Length;

    /// <summary>The program, run by every rank.</summary>
    protected abstract void Run();

    // Step 1: the ranks. Rank 0 is the initiator: it deploys the others (-n N, default one per VM) round robin
    // over the VMs and sends everyone the roster; a rank's number is its place in it.
    protected sealed override void Main()
    {
        if (Parent is null)
        {
            var vms = Discover();
            var size = Args.Option("-n", vms.Count);
            _ranks = [Id, .. Enumerable.Range(1, size - 1).Select(i => Deploy(GetType(), [vms[i % vms.Count]])[0])];
            foreach (var r in _ranks[1..])
            {
                Monitor(r);
                Send(r, new { tag = "mpi.roster", ranks = _ranks });
            }
        }
        else
        {
            _ranks = Recv(new { tag = "mpi.roster" }).Get<VrId[]>("ranks");
            Rank = Array.IndexOf(_ranks, Id);
        }
        Run();
        // Step 5: rank 0 returns when every rank has; a rank that failed or was lost fails the program.
        if (Rank == 0)
            foreach (var r in _ranks[1..])
                if (Recv(new { tag = "river.down", src = r }) is var down && down.Get<string>("reason") != "normal")
                    throw new InvalidOperationException($"rank {Array.IndexOf(_ranks, r)} {down.Get<string>("reason")}: {down.Get<string?>("error")}");
    }

    // Step 2: point to point. A packet carries the MPI tag and the sender's rank; Recv's match does the rest.

    /// <summary>Sends <paramref name="value"/> (copied) to rank <paramref name="dest"/>; does not wait for the receive.</summary>
    public void Send<T>(T value, int dest, int tag) => Send(_ranks[dest], new { tag = "mpi", mtag = tag, from = Rank, value });

    /// <summary>Waits for a message from <paramref name="source"/> (or <see cref="AnySource"/>) with <paramref name="tag"/>.</summary>
    public T Receive<T>(int source, int tag) => Receive<T>(source, tag, out _);

    /// <summary>As <see cref="Receive{T}(int, int)"/>, and says which rank sent it.</summary>
    public T Receive<T>(int source, int tag, out int from)
    {
        var p = Recv(new { tag = "mpi", mtag = tag, from = source == AnySource ? Match.Any : (object)source });
        from = p.Get<int>("from");
        return p.Get<T>("value");
    }

    // Step 3: collectives, built on the two calls above.

    /// <summary>Every rank ends with <paramref name="root"/>'s value.</summary>
    public void Broadcast<T>(ref T value, int root)
    {
        if (Rank != root) value = Receive<T>(root, BroadcastTag);
        else
            for (var r = 0; r < Size; r++)
                if (r != root) Send(value, r, BroadcastTag);
    }

    /// <summary>Combines every rank's value with <paramref name="op"/> in rank order (so the result is the same every run); the result at <paramref name="root"/>.</summary>
    public T Reduce<T>(T value, Func<T, T, T> op, int root)
    {
        if (Rank != root)
        {
            Send(value, root, ReduceTag);
            return value;
        }
        var result = root == 0 ? value : Receive<T>(0, ReduceTag);
        for (var r = 1; r < Size; r++) result = op(result, r == root ? value : Receive<T>(r, ReduceTag));
        return result;
    }

    /// <summary>Reduce, then broadcast the result: every rank gets it.</summary>
    public T Allreduce<T>(T value, Func<T, T, T> op)
    {
        var result = Reduce(value, op, 0);
        Broadcast(ref result, 0);
        return result;
    }

    /// <summary>Returns when every rank has called it.</summary>
    public void Barrier() => Allreduce(0, (a, _) => a);
}

using Microsoft.Extensions.Logging.Abstractions;
namespace River.Tests.Checkpointing;

/// <summary>
/// Every worker sends to every other worker and to the initiator each step, and checkpoints right after
/// its sends, before it receives: each round is taken while packets are on their way on every link. The
/// initiator (which never checkpoints) paces the workers with a tick per step and checks that it gets
/// each worker's progress exactly once, in order. The workers' sums mix every value they received in
/// order, so one packet lost, repeated or reordered changes them.
/// </summary>
public sealed class Exchange : VirtualResource
{
    public const int Workers = 3;

    // The worker's state: what Checkpoint() saves.
    private int _index, _steps, _every, _step;
    private VrId[] _peers = [];
    private long _sum;
    [NonSerialized] private int _notSaved;
    [NonSerialized] private long[]? _outgoing; // reused for every send and overwritten after it: a log that kept it by reference would replay the overwrite

    protected override void Main()
    {
        if (Parent is null) Initiate();
        else Work();
    }

    public static long Value(int step, int from) => (step * 7919L) ^ (from * 104729L);

    /// <summary>The sums an uninterrupted run gives, worked out without River.</summary>
    public static long[] Expected(int steps)
    {
        var sums = new long[Workers];
        for (var step = 0; step < steps; step++)
            for (var me = 0; me < Workers; me++)
                for (var p = 0; p < Workers; p++)
                    if (p != me) sums[me] = (sums[me] * 31) + Value(step, p);
        return sums;
    }

    private void Initiate()
    {
        var steps = int.Parse(Args[0]);
        var vms = Discover().Skip(1).ToList(); // the workers' VMs; the initiator's is the run's home
        var workers = Deploy<Exchange>(vms);
        for (var i = 0; i < workers.Count; i++)
            Send(workers[i], new { tag = "init", index = i, steps, every = int.Parse(Args[1]), peers = workers.ToArray() });
        var seen = new int[Workers];
        for (var step = 0; step < steps; step++)
        {
            foreach (var w in workers) Send(w, new { tag = "tick", step });
            for (var i = 0; i < Workers; i++)
            {
                var progress = Recv(new { tag = "progress", src = workers[i], step });
                if (seen[i]++ != step) throw new InvalidOperationException($"worker {i}: progress {step} came as number {seen[i]}");
            }
        }
        var sums = workers.Select(w => Recv(new { tag = "done", src = w }).Get<long>("sum")).ToArray();
        if (TryRecv(new { tag = "progress" }, out var extra))
        {
            var more = new List<Packet> { extra };
            while (TryRecv(new { tag = "progress" }, out var p)) more.Add(p);
            throw new InvalidOperationException($"{more.Count} progress packets came twice: {string.Join(" ", more.Select(p => p["step"]))}");
        }
        Results = sums;
    }

    /// <summary>The sums the last run's initiator received.</summary>
    public static long[]? Results { get; set; }

    /// <summary>Runs of each worker's Main, restored ones counted apart.</summary>
    public static int Starts, RestoredStarts;

    private void Work()
    {
        Interlocked.Increment(ref Restored ? ref RestoredStarts : ref Starts);
        if (!Restored)
        {
            var init = Recv(new { tag = "init" });
            (_index, _steps, _every, _peers) = (init.Get<int>("index"), init.Get<int>("steps"), init.Get<int>("every"), init.Get<VrId[]>("peers"));
            SendToPeers(0);
        }
        else if (_notSaved != 0) throw new InvalidOperationException("a [NonSerialized] field was restored");
        // Each step sends the next step's values first: at a checkpoint, what the peers sent it may still be on its way.
        for (; _step < _steps; _step++)
        {
            _notSaved = 1;
            if (_step > 0 && _step % _every == 0) Checkpoint();
            Recv(new { tag = "tick", step = _step });
            if (_step + 1 < _steps) SendToPeers(_step + 1);
            foreach (var p in _peers.Where(p => p != Id)) _sum = (_sum * 31) + Recv(new { tag = "x", step = _step, src = p }).Get<long[]>("value")[0];
            Send(Parent!.Value, new { tag = "progress", step = _step });
            Thread.Sleep(1);
        }
        Send(Parent!.Value, new { tag = "done", sum = _sum });
    }

    private void SendToPeers(int step)
    {
        _outgoing ??= new long[1];
        foreach (var p in _peers.Where(p => p != Id))
        {
            _outgoing[0] = Value(step, _index);
            Send(p, new { tag = "x", step, value = _outgoing });
            _outgoing[0] = -1;
        }
    }
}

/// <summary>
/// The initiator streams numbered packets to one worker faster than the worker, whose queue is small, takes them: the
/// initiator's sends wait for its credit, as a sender does when its receiver's VM is lost. The worker checks the order.
/// </summary>
public sealed class Streamer : VirtualResource
{
    public const int Count = 20_000; // more than a window (8,192): the sender waits for credit

    /// <summary>Packets the workers took, and runs of the worker's Main.</summary>
    public static int Taken, Starts;

    public static long? Sum { get; set; }

    protected internal override QueueLimit? QueueLimit => new(1 << 20, 50);

    protected override void Main()
    {
        if (Parent is null)
        {
            var worker = Deploy<Streamer>(Discover().Single(vm => vm.Id != Vm.Id)); // the other VM
            for (var i = 0; i < Count; i++) Send(worker, new { tag = "n", i });
            Sum = Recv(new { tag = "sum" }).Get<long>("sum");
            return;
        }
        Interlocked.Increment(ref Starts);
        var sum = 0L;
        for (var i = 0; i < Count; i++)
        {
            var n = Recv(new { tag = "n" }).Get<int>("i");
            if (n != i) throw new InvalidOperationException($"packet {n} came as number {i}");
            sum += n;
            if (Interlocked.Increment(ref Taken) % 10 == 0) Thread.Sleep(1);
        }
        Send(Parent.Value, new { tag = "sum", sum });
    }
}

/// <summary>A VR with a field the serializer cannot carry.</summary>
public sealed class Unsaveable : VirtualResource
{
    private readonly Action _callback = () => { };

    protected override void Main()
    {
        _callback();
        Checkpoint();
    }
}

[Collection(CheckpointCollection.Name)]
public sealed class CheckpointEmbeddedTests : CheckpointDirectory
{
    private static async Task<long[]> RunAsync(LocalCluster cluster, string dir, int steps, int every)
    {
        Exchange.Results = null;
        await CheckpointedRun.RunAsync(cluster.Vms[0], typeof(Exchange), [steps.ToString(), every.ToString()], dir, restart: false).WaitAsync(Bound);
        return Exchange.Results ?? throw new InvalidOperationException("the initiator gave no result");
    }

    [Fact]
    public async Task Without_a_VM_lost_the_run_checkpoints_and_keeps_the_last_two_rounds()
    {
        await using var cluster = new LocalCluster(1 + Exchange.Workers);
        Assert.Equal(Exchange.Expected(60), await RunAsync(cluster, _dir, 60, 10));
        // The run ends after every VM stored its parts under way; a worker whose first part came after a round completed
        // takes part from the next round on, and its file for that round is gone: the folders hold the manifests' parts only.
        var rounds = Directory.GetDirectories(_dir).Select(Path.GetFileName).Where(d => d!.StartsWith("round-", StringComparison.Ordinal)).Order().ToList();
        Assert.Equal(["round-000004", "round-000005"], rounds);
        var store = new DirectoryCheckpointStore(_dir);
        var (manifest, parts, _) = await CheckpointCoordinator.ReadRoundAsync(store, new RiverSerializer(), 5, NullLogger.Instance);
        Assert.Equal(5, manifest?.Round);
        Assert.NotEmpty(manifest!.Participants);
        Assert.Equal(manifest.Participants.Select(v => v.ToString()).Order(), parts.Select(p => p.Vr.Id.ToString()).Order());
        Assert.Equal(manifest.Participants.Length + 1, Directory.GetFiles(Path.Combine(_dir, "round-000005")).Length); // parts and manifest
    }

    [Fact]
    public async Task A_VM_lost_mid_run_is_recovered_from_the_last_round_and_every_packet_counts_once()
    {
        await using var cluster = new LocalCluster(1 + Exchange.Workers);
        (Exchange.Starts, Exchange.RestoredStarts) = (0, 0);
        var run = RunAsync(cluster, _dir, 1500, 50);
        await WaitForRoundAsync(3);
        await cluster.Vms[2].DisposeAsync(); // its worker is lost with it
        Assert.Equal(Exchange.Expected(1500), await run);
        Assert.Equal(Exchange.Workers, Exchange.Starts);
        Assert.Equal(Exchange.Workers, Exchange.RestoredStarts); // every worker rolled back once, none from the beginning
    }

    [Fact]
    public async Task A_VR_lost_before_any_checkpoint_starts_over_and_the_others_go_on()
    {
        await using var cluster = new LocalCluster(1 + Exchange.Workers);
        (Exchange.Starts, Exchange.RestoredStarts) = (0, 0);
        var run = RunAsync(cluster, _dir, 600, 1000); // no worker reaches a checkpoint
        while (Volatile.Read(ref Exchange.Starts) < Exchange.Workers) await Task.Delay(10);
        await Task.Delay(100);
        await cluster.Vms[3].DisposeAsync();
        Assert.Equal(Exchange.Expected(600), await run);
        Assert.Equal(Exchange.Workers + 1, Exchange.Starts); // the lost one from the beginning; the others were never rolled back
        Assert.Equal(0, Exchange.RestoredStarts);
    }

    [Fact]
    public async Task A_send_waiting_for_credit_from_a_VR_whose_VM_is_lost_goes_on_to_where_it_starts_again()
    {
        await using var cluster = new LocalCluster(2);
        (Streamer.Taken, Streamer.Starts, Streamer.Sum) = (0, 0, null);
        var run = CheckpointedRun.RunAsync(cluster.Vms[0], typeof(Streamer), [], _dir, restart: false).WaitAsync(Bound);
        while (Volatile.Read(ref Streamer.Taken) < 2000)
        {
            Assert.False(run.IsCompleted, $"the run ended first: {run.Exception?.InnerException}");
            await Task.Delay(1);
        }
        await cluster.Vms[1].DisposeAsync(); // the initiator is waiting for the worker's credit: its send finds the VM gone
        await run;
        Assert.Equal((long)Streamer.Count * (Streamer.Count - 1) / 2, Streamer.Sum);
        Assert.Equal(2, Streamer.Starts); // lost before any checkpoint: started over, every packet sent again
    }

    [Fact]
    public async Task Checkpoint_without_a_checkpoint_directory_saves_nothing_and_a_field_that_cannot_be_carried_is_named()
    {
        await using var cluster = new LocalCluster(1 + Exchange.Workers);
        Exchange.Results = null;
        await cluster.Vms[0].RunAsync<Exchange>(["30", "5"]).WaitAsync(Bound);
        Assert.Equal(Exchange.Expected(30), Exchange.Results);
        Assert.All(cluster.Vms, vm => Assert.Null(vm.Hooks)); // no VM numbered, logged or saved anything for it

        var error = await Assert.ThrowsAsync<UnsupportedValueException>(() =>
            CheckpointedRun.RunAsync(cluster.Vms[0], typeof(Unsaveable), [], _dir, restart: false).WaitAsync(Bound));
        Assert.Contains("Unsaveable._callback", error.Message, StringComparison.Ordinal);
    }
}

/// <summary>A checkpoint directory of a test's own, deleted after it.</summary>
public abstract class CheckpointDirectory : IDisposable
{
    protected static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    protected readonly string _dir = Path.Combine(Path.GetTempPath(), $"river-ckpt-{Guid.NewGuid():N}");

    /// <summary>Waits until round <paramref name="round"/> of the run in the directory is complete (its manifest written).</summary>
    protected async Task WaitForRoundAsync(int round)
    {
        var manifest = Path.Combine(_dir, CheckpointCoordinator.ManifestName(round));
        var deadline = DateTime.UtcNow + Bound;
        while (!File.Exists(manifest))
        {
            Assert.True(DateTime.UtcNow < deadline, $"round {round} never completed");
            await Task.Delay(10);
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
        GC.SuppressFinalize(this);
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CheckpointCollection
{
    public const string Name = "Checkpointing (static results)";
}

[Collection(CheckpointCollection.Name)]
public sealed class CheckpointRestartTests : CheckpointDirectory
{
    /// <summary>Runs until round <paramref name="round"/> is complete, then every VM goes down at once.</summary>
    private async Task RunAndLoseEverythingAsync(int steps, int round)
    {
        var cluster = new LocalCluster(1 + Exchange.Workers);
        _ = CheckpointedRun.RunAsync(cluster.Vms[0], typeof(Exchange), [steps.ToString(), "20"], _dir, restart: false);
        await WaitForRoundAsync(round);
        await cluster.DisposeAsync();
    }

    private async Task<long[]> RestartAsync()
    {
        Exchange.Results = null;
        await using var cluster = new LocalCluster(1 + Exchange.Workers);
        await CheckpointedRun.RunAsync(cluster.Vms[0], typeof(Exchange), ["1500", "20"], _dir, restart: true).WaitAsync(Bound);
        return Exchange.Results ?? throw new InvalidOperationException("the initiator gave no result");
    }

    [Fact]
    public async Task Restart_after_every_VM_went_down_gives_the_uninterrupted_result()
    {
        await RunAndLoseEverythingAsync(1500, 3);
        (Exchange.Starts, Exchange.RestoredStarts) = (0, 0);
        Assert.Equal(Exchange.Expected(1500), await RestartAsync());
        Assert.Equal((0, Exchange.Workers), (Exchange.Starts, Exchange.RestoredStarts)); // the initiator got its workers back
    }

    [Fact]
    public async Task A_corrupt_newest_round_falls_back_to_the_one_before()
    {
        await RunAndLoseEverythingAsync(1500, 3);
        var newest = CheckpointCoordinator.NewestRound(new DirectoryCheckpointStore(_dir));
        var part = Directory.GetFiles(Path.Combine(_dir, $"round-{newest:D6}"), "*.part")[0];
        var bytes = File.ReadAllBytes(part);
        bytes[^1] ^= 0xFF; // one flipped bit in the payload fails the checksum
        File.WriteAllBytes(part, bytes);
        (Exchange.Starts, Exchange.RestoredStarts) = (0, 0);
        Assert.Equal(Exchange.Expected(1500), await RestartAsync());
        Assert.Equal(Exchange.Workers, Exchange.RestoredStarts);
    }
}

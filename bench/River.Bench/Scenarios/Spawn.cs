using System.Diagnostics;

namespace River.Bench.Scenarios;

/// <summary>
/// Starting many VRs that each wait in a receive: the time until all are waiting, and the managed
/// memory each holds then (GC.GetTotalMemory with a forced collection, before and after). Every VR
/// is then ended by a packet, as a program would. Baselines: the bare runtime equivalent (a task
/// awaiting a TaskCompletionSource; a thread blocked on a ManualResetEventSlim). Async VRs are started
/// 100,000 and 1,000,000 at a time (issue 16: a million in under 3 s, under 1 KiB each).
/// </summary>
internal sealed class Spawn : Scenario
{
    public override string Name => "spawn";

    public override IEnumerable<Result> Run(RunSettings s)
    {
        var plan = s.Pick(new Plan(1, 3), new Plan(1, 7));
        const int threadCount = 1_000;

        // A million live VRs take about a GiB and most of a second per round: fewer rounds.
        foreach (var (asyncCount, rounds, startGoal) in new[] { (100_000, plan, 1000), (1_000_000, s.Pick(new Plan(0, 1, WarmupTime: 0), new Plan(0, 3, WarmupTime: 0)), 3000) })
        {
            var parked = Measure.Repeat(rounds, () => StartRiver<ParkedAsyncVr>(asyncCount, s));
            var tasks = Measure.Repeat(rounds, () => StartBaseline(asyncCount, s, StartTask));
            yield return new Result(Name, $"start {asyncCount:N0} async VRs", "ms", Ms(parked), "Task.Run awaiting a TCS", Ms(tasks), Target.ValueBelow(startGoal, "ms"));
            yield return new Result(Name, $"memory per async VR, {asyncCount:N0}", "B", Bytes(parked), "Task.Run awaiting a TCS", Bytes(tasks), Target.ValueBelow(1024, "B"));
        }

        var river = Measure.Repeat(plan, () => StartRiver<ParkedThreadVr>(threadCount, s));
        var threads = Measure.Repeat(plan, () => StartBaseline(threadCount, s, StartThread));
        yield return new Result(Name, $"start {threadCount:N0} thread VRs", "ms", Ms(river), "Thread blocked on MRES", Ms(threads));
        yield return new Result(Name, "managed memory per thread VR", "B", Bytes(river), "Thread blocked on MRES", Bytes(threads));
    }

    private readonly record struct Started(double Seconds, double BytesEach);

    private static Stats Ms(Started[] s) => Stats.Of(s.Select(x => x.Seconds * 1000));

    private static Stats Bytes(Started[] s) => Stats.Of(s.Select(x => x.BytesEach));

    /// <summary>VRs that have reached their receive; reset before each round.</summary>
    private static int s_waiting;

    private static Started StartRiver<TVr>(int count, RunSettings s) where TVr : VirtualResourceBase
    {
        var vm = new RiverVm();
        try
        {
            var ids = new VrId[count];
            s_waiting = 0;
            var before = GC.GetTotalMemory(forceFullCollection: true);
            var start = Stopwatch.GetTimestamp();
            for (var i = 0; i < count; i++) ids[i] = vm.Start<TVr>();
            Measure.Until(() => Volatile.Read(ref s_waiting) == count, s.Timeout, $"{count} {typeof(TVr).Name} waiting");
            var seconds = Measure.Seconds(start);
            var bytes = GC.GetTotalMemory(forceFullCollection: true) - before;
            foreach (var id in ids) vm.Send(default, id, new { tag = "stop" });
            Measure.Until(() => vm.VrCount == 0, s.Timeout, $"{count} {typeof(TVr).Name} ended");
            GC.KeepAlive(ids);
            return new Started(seconds, (double)bytes / count);
        }
        finally
        {
            vm.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static Started StartBaseline(int count, RunSettings s, Func<Action, object> start)
    {
        // Handles go into a preallocated array, as River's VR ids do, so only the waiters are counted.
        var handles = new object[count];
        s_waiting = 0;
        var ended = new CountdownEvent(count);
        Action onEnd = () => ended.Signal();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var t0 = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++) handles[i] = start(onEnd);
        Measure.Until(() => Volatile.Read(ref s_waiting) == count, s.Timeout, $"{count} baseline waiters");
        var seconds = Measure.Seconds(t0);
        var bytes = GC.GetTotalMemory(forceFullCollection: true) - before;
        foreach (var h in handles)
        {
            if (h is TaskCompletionSource tcs) tcs.SetResult();
            else ((ManualResetEventSlim)h).Set();
        }
        if (!ended.Wait(s.Timeout)) throw new TimeoutException("Baseline waiters did not end.");
        return new Started(seconds, (double)bytes / count);
    }

    /// <summary>Starts a task that waits like an async VR, returns its TaskCompletionSource.</summary>
    private static object StartTask(Action onEnd)
    {
        var wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Task.Run(async () =>
        {
            var wait = wake.Task;
            Interlocked.Increment(ref s_waiting);
            await wait;
            onEnd();
        });
        return wake;
    }

    /// <summary>Starts a thread that blocks like a parked thread VR, returns its event.</summary>
    private static object StartThread(Action onEnd)
    {
        var wake = new ManualResetEventSlim(false, spinCount: 100);
        new Thread(() =>
        {
            Interlocked.Increment(ref s_waiting);
            wake.Wait();
            onEnd();
        })
        { IsBackground = true }.Start();
        return wake;
    }

    /// <summary>Waits for a "stop" packet as a program's async VR would, with the VM's stop token.</summary>
    private sealed class ParkedAsyncVr : AsyncVirtualResource
    {
        protected override async Task MainAsync(CancellationToken stop)
        {
            var wait = RecvAsync(new { tag = "stop" }, cancel: stop);
            Interlocked.Increment(ref s_waiting);
            await wait;
        }
    }

    private sealed class ParkedThreadVr : VirtualResource
    {
        protected override void Main()
        {
            Interlocked.Increment(ref s_waiting);
            Recv(new { tag = "stop" });
        }
    }
}

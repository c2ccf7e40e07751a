using System.Diagnostics;

namespace River.Bench.Scenarios;

/// <summary>
/// Remote calls with 1,000 under way, between two VMs of a LocalCluster: <c>AddAsync</c> on a Rai proxy against
/// the same request/reply written by hand with packets (one async VR keeping 1,000 requests out, one echoing).
/// Besides calls per second, the process's CPU time and allocated bytes per call: on a machine other work loads,
/// the time a round takes depends on how much of the cores it gets, what a call costs in CPU and memory much less.
/// </summary>
internal sealed class RaiCalls : Scenario
{
    private const int Window = 1000;

    public override string Name => "rai-calls";

    public override IEnumerable<Result> Run(RunSettings s)
    {
        var calls = s.Pick(50_000, 200_000);
        var reps = s.Pick(5, 11);
        var cluster = new LocalCluster(2);
        try
        {
            var (spawned, end) = (new TaskCompletionSource<AsyncVirtualResource>(), new TaskCompletionSource());
            var ended = cluster.Vms[0].Spawn(async me =>
            {
                spawned.SetResult(me);
                await end.Task;
            });
            var driver = spawned.Task.GetAwaiter().GetResult();
            var there = driver.Discover().Single(v => v.Id == cluster.Vms[1].Id);
            var adder = Rai.Create<IAdder, Adder>(driver, there);
            var echo = driver.Deploy<Echo>(there);
            var (rai, plain) = (new Samples(), new Samples());
            var warmup = Stopwatch.StartNew();
            for (var round = 0; round < reps || warmup.Elapsed.TotalSeconds < 2; round++)
            {
                var r = Samples.Take(() => Measure.Await(ViaRai(adder, calls), s.Timeout, "rai-calls (Rai)"), calls);
                var p = Samples.Take(() => Measure.Await(ViaPackets(driver, echo, calls), s.Timeout, "rai-calls (packets)"), calls);
                if (warmup.Elapsed.TotalSeconds < 2) continue; // tiering and pools first
                rai.Add(r);
                plain.Add(p);
                if (rai.Rate.Count == reps) break;
            }
            end.SetResult();
            ended.GetAwaiter().GetResult();
            var baseline = $"request/reply with packets, {Window:N0} in flight";
            yield return new Result(Name, $"calls, {Window:N0} in flight", "calls/s", Stats.Of(rai.Rate), baseline, Stats.Of(plain.Rate), Target.RatioAtLeast(0.8));
            yield return new Result(Name, $"CPU time per call, {Window:N0} in flight", "µs", Stats.Of(rai.Cpu), baseline, Stats.Of(plain.Cpu));
            yield return new Result(Name, $"bytes allocated per call, {Window:N0} in flight", "B", Stats.Of(rai.Bytes), baseline, Stats.Of(plain.Bytes));
        }
        finally
        {
            cluster.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static async Task<double> ViaRai(IAdder adder, int calls)
    {
        var each = calls / Window;
        var start = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, Window).Select(async lane =>
        {
            for (var i = 0; i < each; i++)
                if (await adder.AddAsync(lane, i) != lane + i) throw new InvalidOperationException("a wrong sum");
        }));
        return each * Window / Measure.Seconds(start);
    }

    private static async Task<double> ViaPackets(AsyncVirtualResource driver, VrId echo, int calls)
    {
        var start = Stopwatch.GetTimestamp();
        var sent = 0;
        for (; sent < Window; sent++) driver.Send(echo, new { tag = "add", id = (long)sent, a = sent, b = 1 });
        for (var got = 0; got < calls; got++)
        {
            var reply = await driver.RecvAsync(new { tag = "sum" });
            if (reply.Get<int>("value") != (int)reply.Get<long>("id") + 1) throw new InvalidOperationException("a wrong sum");
            if (sent < calls) driver.Send(echo, new { tag = "add", id = (long)sent, a = sent++, b = 1 });
        }
        return calls / Measure.Seconds(start);
    }

    /// <summary>One side's rounds: calls per second, and the process's CPU time and allocated bytes per call.</summary>
    private sealed class Samples
    {
        public List<double> Rate { get; } = [];

        public List<double> Cpu { get; } = [];

        public List<double> Bytes { get; } = [];

        public static (double Rate, double Cpu, double Bytes) Take(Func<double> round, int calls)
        {
            var (cpu, bytes) = (Environment.CpuUsage.TotalTime, GC.GetTotalAllocatedBytes());
            var rate = round();
            return (rate, (Environment.CpuUsage.TotalTime - cpu).TotalMicroseconds / calls, (double)(GC.GetTotalAllocatedBytes() - bytes) / calls);
        }

        public void Add((double Rate, double Cpu, double Bytes) round)
        {
            Rate.Add(round.Rate);
            Cpu.Add(round.Cpu);
            Bytes.Add(round.Bytes);
        }
    }

    public interface IAdder
    {
        Task<int> AddAsync(int a, int b);
    }

    private sealed class Adder : IAdder
    {
        public Task<int> AddAsync(int a, int b) => Task.FromResult(a + b);
    }

    /// <summary>The baseline's far end: a sum for every request, as a Rai host answers a call.</summary>
    private sealed class Echo : AsyncVirtualResource
    {
        protected override async Task MainAsync(CancellationToken stop)
        {
            while (true)
            {
                var p = await RecvAsync(new { tag = "add" }, cancel: stop);
                Send(p.Src, new { tag = "sum", id = p.Get<long>("id"), value = p.Get<int>("a") + p.Get<int>("b") });
            }
        }
    }
}

namespace River.Tests.Resources;

/// <summary>
/// The async receive (a parked <c>RecvAsync</c> holds no state machine: a wake runs its next look on the thread
/// pool) and an async VR's stop token (its own source, cancelled by the VM for each VR).
/// </summary>
public class AsyncReceiveTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Senders_racing_a_selective_receiver_lose_and_repeat_nothing()
    {
        // Four threads send two tags while the VR alternates receives of each, parking on nearly every one:
        // wakes land while it looks, while it parks and after, and each packet must be taken exactly once.
        await using var vm = new RiverVm();
        const int perSender = 5_000, senders = 4;
        var seen = new HashSet<(int, int)>();
        var receiver = vm.Start<AsyncProbe>(null, AsyncProbe.Register(async (me, stop) =>
        {
            for (var i = 0; i < senders * perSender; i++)
            {
                var p = await me.RecvAsync(new { tag = i % 2 == 0 ? "even" : "odd" }, cancel: stop);
                Assert.True(seen.Add((p.Get<int>("s"), p.Get<int>("n"))), "a packet was received twice");
            }
        }));
        var ended = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        vm.VrEnded += (_, e) => ended.TrySetResult(e.Error);
        var threads = Enumerable.Range(0, senders).Select(s => new Thread(() =>
        {
            for (var n = 0; n < perSender; n++) vm.Send(default, receiver, new { tag = n % 2 == 0 ? "even" : "odd", s, n });
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Null(await ended.Task.WaitAsync(Bound));
        Assert.Equal(senders * perSender, seen.Count);
    }

    [Fact]
    public async Task Receives_cancelled_or_timed_out_while_their_packets_arrive_take_none_of_them()
    {
        // A stream of wanted packets meets receives whose token or timeout fires within 0-2 ms: a receive that
        // gave up must not have taken a packet, one that took it must return it, so the stream arrives whole, in order.
        await using var vm = new RiverVm();
        const int n = 5_000;
        var received = new List<int>();
        int cancels = 0, timeouts = 0;
        var receiver = vm.Start<AsyncProbe>(null, AsyncProbe.Register(async (me, stop) =>
        {
            var random = new Random(16);
            while (received.Count < n)
            {
                var within = TimeSpan.FromTicks(random.Next(20_000));
                try
                {
                    Packet p;
                    if (random.Next(2) == 0)
                    {
                        using var cts = new CancellationTokenSource(within);
                        p = await me.RecvAsync(new { tag = "w" }, cancel: cts.Token);
                    }
                    else
                    {
                        p = await me.RecvAsync(new { tag = "w" }, within);
                    }
                    received.Add(p.Get<int>("n"));
                }
                catch (OperationCanceledException)
                {
                    cancels++;
                }
                catch (TimeoutException)
                {
                    timeouts++;
                }
            }
        }));
        var ended = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        vm.VrEnded += (_, e) => ended.TrySetResult(e.Error);
        for (var i = 0; i < n; i++)
        {
            vm.Send(default, receiver, new { tag = "w", n = i });
            if (i % 50 == 0) await Task.Delay(1);
        }
        Assert.Null(await ended.Task.WaitAsync(Bound));
        Assert.Equal(Enumerable.Range(0, n), received);
        Assert.True(cancels + timeouts > 0, "no receive gave up: the race was not exercised");
    }

    [Fact]
    public async Task A_timed_receive_returns_a_packet_that_comes_before_the_timeout()
    {
        await using var vm = new RiverVm();
        var results = new List<int>();
        var receiver = vm.Start<AsyncProbe>(null, AsyncProbe.Register(async (me, _) =>
        {
            for (var i = 0; i < 3; i++) results.Add((await me.RecvAsync(new { tag = "t" }, TimeSpan.FromSeconds(30))).Get<int>("n"));
            await Assert.ThrowsAsync<TimeoutException>(async () => await me.RecvAsync(new { tag = "t" }, TimeSpan.FromMilliseconds(20)));
        }));
        var ended = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        vm.VrEnded += (_, e) => ended.TrySetResult(e.Error);
        for (var n = 0; n < 3; n++)
        {
            await Task.Delay(20);
            vm.Send(default, receiver, new { tag = "t", n });
        }
        Assert.Null(await ended.Task.WaitAsync(Bound));
        Assert.Equal([0, 1, 2], results);
    }

    [Fact]
    public async Task Kill_fires_the_stop_token_and_wakes_a_parked_receive_as_stopped_not_failed()
    {
        await using var vm = new RiverVm();
        var errors = new List<Exception?>();
        vm.VrEnded += (_, e) =>
        {
            lock (errors) errors.Add(e.Error);
        };
        var delaying = vm.Start<AsyncProbe>(null, AsyncProbe.Register((_, stop) => Task.Delay(Timeout.Infinite, stop)));
        var receiving = vm.Start<AsyncProbe>(null, AsyncProbe.Register(async (me, stop) => await me.RecvAsync(cancel: stop)));
        await Condition.Until(() => vm.VrCount == 2, Bound);
        Assert.True(vm.Kill(delaying));
        Assert.True(vm.Kill(receiving));
        await Condition.Until(() => vm.VrCount == 0, Bound);
        lock (errors) Assert.All(errors, e => Assert.IsAssignableFrom<OperationCanceledException>(e));
        Assert.Empty(vm.Status().Failures);
    }

    [Fact]
    public async Task Stopping_the_VM_fires_every_async_VRs_token()
    {
        var vm = new RiverVm();
        const int n = 1_000;
        var stopped = 0;
        for (var i = 0; i < n; i++)
        {
            vm.Start<AsyncProbe>(null, AsyncProbe.Register(async (_, stop) =>
            {
                await Task.Delay(Timeout.Infinite, stop).ContinueWith(_ => { }, TaskScheduler.Default);
                Interlocked.Increment(ref stopped);
            }));
        }
        await vm.DisposeAsync();
        await Condition.Until(() => Volatile.Read(ref stopped) == n, Bound);
    }
}

using System.Reflection;
using System.Reflection.Emit;

namespace River.Tests.RemoteObjects;

/// <summary>Remote objects on an embedded cluster: calls of every shape, many under way, exceptions, proxies as values, lifetime.</summary>
public sealed class RaiTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static Task Run(int vms, Action<Probe, VmInfo> body) => RunOn(vms, body);

    private static async Task RunOn(int vms, Action<Probe, VmInfo> body)
    {
        await using var cluster = new LocalCluster(vms);
        await Probe.Run(cluster.Vms[0], me => body(me, me.Discover()[^1])).WaitAsync(Bound);
    }

    [Fact]
    public Task Blocking_and_awaitable_methods_return_their_values_typed() => Run(2, (me, there) =>
    {
        var calc = Rai.Create<ICalc, Calc>(me, there, "typed", 5L);
        Assert.Equal(7, calc.Add(3, 4));
        Assert.Equal(9, calc.AddAsync(4, 5).GetAwaiter().GetResult());
        calc.Accumulate(10);
        calc.AccumulateAsync(20).GetAwaiter().GetResult();
        Assert.Equal(35L, calc.TotalAsync().AsTask().GetAwaiter().GetResult());
        Assert.Equal(new Sum("now", 35), calc.Summary("now"));
    });

    [Fact]
    public Task A_thousand_calls_are_under_way_at_once_and_each_gets_its_own_answer() => Run(2, (me, there) =>
    {
        var calc = Rai.Create<ICalc, Calc>(me, there);
        var calls = Enumerable.Range(0, 1000).Select(i => calc.AddAsync(i, 1_000_000)).ToList();
        var answers = Task.WhenAll(calls).GetAwaiter().GetResult();
        Assert.Equal(Enumerable.Range(1_000_000, 1000), answers);
        var adds = Enumerable.Range(1, 1000).Select(i => calc.AccumulateAsync(i)).ToArray();
        Task.WaitAll(adds, Bound);
        Assert.Equal(500_500L, calc.TotalAsync().AsTask().GetAwaiter().GetResult());
    });

    [Fact]
    public Task A_continuation_of_a_call_may_make_blocking_calls_of_its_own() => Run(2, (me, there) =>
    {
        // Continuations run on the thread that completes replies: a blocking call there hands that work on first.
        // Few chains: each blocks a pool thread, and a pool short of threads adds them slowly (as with any sync-over-async).
        var calc = Rai.Create<ICalc, Calc>(me, there);
        var chains = Enumerable.Range(0, 4).Select(i => calc.AddAsync(i, 1).ContinueWith(t => calc.Add(t.Result, 1), TaskContinuationOptions.ExecuteSynchronously));
        Assert.Equal(Enumerable.Range(2, 4), Task.WhenAll(chains).WaitAsync(Bound).GetAwaiter().GetResult());
    });

    [Fact]
    public Task A_continuation_that_blocks_on_a_later_reply_does_not_hold_up_that_reply() => Run(2, (me, there) =>
    {
        var calc = Rai.Create<ICalc, Calc>(me, there);
        // The first continuation waits on the second call's task, not through Rai: only the watchdog can see it is stuck.
        // The first reply is held until the continuation is attached (so it cannot run inline here), and the second
        // call goes out once the continuation runs (so its reply queues behind it).
        var gate = Guid.NewGuid().ToString("N");
        var second = new TaskCompletionSource<Task<int>>();
        using var running = new ManualResetEventSlim();
        var caller = Environment.CurrentManagedThreadId;
        var ranOn = 0;
        var first = calc.AddWhenOpenAsync(gate, 1, 1).ContinueWith(
            t =>
            {
                ranOn = Environment.CurrentManagedThreadId;
                running.Set();
                return t.Result + second.Task.Result.Result;
            },
            TaskContinuationOptions.ExecuteSynchronously);
        Calc.Open(gate);
        Assert.True(running.Wait(Bound));
        second.SetResult(calc.AddAsync(2, 2));
        Assert.Equal(6, first.WaitAsync(Bound).GetAwaiter().GetResult());
        Assert.NotEqual(caller, ranOn);
    });

    [Fact]
    public Task An_exception_comes_back_with_the_remote_type_message_and_stack() => Run(2, (me, there) =>
    {
        var calc = Rai.Create<ICalc, Calc>(me, there);
        var sync = Assert.Throws<RaiRemoteException>(() => calc.Divide(1, 0));
        Assert.Equal(typeof(DivideByZeroException).FullName, sync.RemoteType);
        Assert.Equal(new DivideByZeroException().Message, sync.Message);
        Assert.Contains(nameof(Calc.Divide), sync.RemoteStackTrace, StringComparison.Ordinal);
        var later = Assert.ThrowsAsync<RaiRemoteException>(() => calc.FailLaterAsync("no luck")).GetAwaiter().GetResult();
        Assert.Equal(typeof(InvalidOperationException).FullName, later.RemoteType);
        Assert.Equal("no luck", later.Message);
        Assert.Contains(nameof(Calc.FailLaterAsync), later.RemoteStackTrace, StringComparison.Ordinal);
        Assert.Equal(2, calc.Add(1, 1)); // the object serves on
    });

    [Fact]
    public Task A_constructor_that_throws_fails_Create_with_its_exception() => Run(2, (me, there) =>
    {
        var e = Assert.Throws<RaiRemoteException>(() => Rai.Create<ICalc, Calc>(me, there, "bad", -1L));
        Assert.Equal(typeof(ArgumentOutOfRangeException).FullName, e.RemoteType);
        Assert.Contains("a total starts at 0 or more", e.Message, StringComparison.Ordinal);
    });

    [Fact]
    public Task A_proxy_sent_to_another_VR_calls_the_same_object_from_there() => Run(3, (me, there) =>
    {
        var calc = Rai.Create<ICalc, Calc>(me, there);
        var vms = me.Discover();
        var callers = me.Deploy<Probe>(vms, Probe.Register(c =>
        {
            var p = c.Recv(new { tag = "calc" });
            var remote = Rai.Bind(c, p.Get<RaiRef<ICalc>>("calc"));
            for (var i = 0; i < 100; i++) remote.AccumulateAsync(1).GetAwaiter().GetResult();
            c.Send(p.Src, new { tag = "done" });
        }));
        foreach (var c in callers) me.Send(c, new { tag = "calc", calc = Rai.RefOf(calc) });
        foreach (var _ in callers) me.Recv(new { tag = "done" }, Bound);
        Assert.Equal(100L * vms.Count, calc.TotalAsync().AsTask().GetAwaiter().GetResult());
    });

    [Fact]
    public Task Disposing_a_proxy_releases_the_object_and_later_calls_fail_at_once() => Run(2, (me, there) =>
    {
        var token = Guid.NewGuid().ToString();
        var calc = Rai.Create<ICalc, Calc>(me, there, token);
        var other = me.Deploy<Probe>(me.Vm, Probe.Register(c =>
        {
            var p = c.Recv(new { tag = "calc" });
            var remote = Rai.Bind(c, p.Get<RaiRef<ICalc>>("calc"));
            remote.Add(1, 1);
            c.Send(p.Src, new { tag = "bound" });
            c.Recv(new { tag = "released" });
            var gone = Assert.Throws<RaiObjectGoneException>(() => remote.Add(1, 1));
            c.Send(p.Src, new { tag = "gone", reason = gone.Reason });
        }));
        me.Send(other, new { tag = "calc", calc = Rai.RefOf(calc) });
        me.Recv(new { tag = "bound" }, Bound);
        var hang = calc.HangAsync();
        ((IDisposable)calc).Dispose();
        Assert.Throws<ObjectDisposedException>(() => calc.Add(1, 2));
        Assert.IsType<RaiObjectGoneException>(Record.Exception(() => hang.Wait(Bound))?.InnerException);
        Assert.True(Calc.Disposed.ContainsKey(token), "the released object was disposed");
        me.Send(other, new { tag = "released" });
        Assert.Equal("released", me.Recv(new { tag = "gone" }, Bound).Get<string>("reason"));
    });

    [Fact]
    public Task Objects_a_VR_made_or_exposed_are_released_when_it_ends() => Run(2, (me, there) =>
    {
        var made = Guid.NewGuid().ToString();
        var exposed = Guid.NewGuid().ToString();
        var owner = me.Deploy<Probe>(me.Vm, Probe.Register(c =>
        {
            var calc = Rai.Create<ICalc, Calc>(c, there, made);
            var local = Rai.Expose<ICalc>(c, new Calc(exposed));
            c.Send(c.Parent!.Value, new { tag = "refs", made = Rai.RefOf(calc), exposed = Rai.RefOf(local) });
            c.Recv(new { tag = "end" });
        }));
        var refs = me.Recv(new { tag = "refs" }, Bound);
        var (first, second) = (Rai.Bind(me, refs.Get<RaiRef<ICalc>>("made")), Rai.Bind(me, refs.Get<RaiRef<ICalc>>("exposed")));
        Assert.Equal(3, first.Add(1, 2));
        Assert.Equal(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), second.WhereAmI());
        var under = second.HangAsync();
        me.Monitor(owner);
        me.Send(owner, new { tag = "end" });
        me.Recv(new { tag = "river.down", src = owner }, Bound);
        Assert.IsType<RaiObjectGoneException>(Record.Exception(() => under.Wait(Bound))?.InnerException);
        foreach (var proxy in new[] { first, second })
        {
            var e = Record.Exception(() => proxy.AddAsync(1, 1).Wait(Bound))?.InnerException;
            Assert.IsType<RaiObjectGoneException>(e);
        }
        Assert.True(Calc.Disposed.ContainsKey(made) && Calc.Disposed.ContainsKey(exposed), "both objects were disposed");
    });

    [Fact]
    public Task An_interface_whose_methods_a_call_id_cannot_number_is_refused_when_its_proxy_is_made() => Run(1, (me, _) =>
    {
        // A call's id numbers its method in 16 bits; one type holds fewer methods, so the excess comes from two bases.
        var module = AssemblyBuilder.DefineDynamicAssembly(new AssemblyName("RaiWide"), AssemblyBuilderAccess.RunAndCollect).DefineDynamicModule("RaiWide");
        Type Face(string name, int methods, params Type[] bases)
        {
            var face = module.DefineType(name, TypeAttributes.Public | TypeAttributes.Interface | TypeAttributes.Abstract, null, bases);
            for (var i = 0; i < methods; i++)
                face.DefineMethod($"M{i}", MethodAttributes.Public | MethodAttributes.Abstract | MethodAttributes.Virtual | MethodAttributes.HideBySig | MethodAttributes.NewSlot, typeof(void), Type.EmptyTypes);
            return face.CreateType();
        }
        var wide = Face("IWide", 1, Face("IWideA", 32_768), Face("IWideB", 32_768));
        var reference = Activator.CreateInstance(typeof(RaiRef<>).MakeGenericType(wide), VrId.New())!;
        var bind = typeof(Rai).GetMethod(nameof(Rai.Bind))!.MakeGenericMethod(wide);
        var e = Assert.Throws<TargetInvocationException>(() => bind.Invoke(null, [me, reference]));
        var refused = Assert.IsType<NotSupportedException>(e.InnerException);
        Assert.Contains("IWide has 65,537 methods: a remote interface has at most 65,536", refused.Message, StringComparison.Ordinal);
    });
}

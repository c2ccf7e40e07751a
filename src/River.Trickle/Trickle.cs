using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace River;

/// <summary>
/// Scripting many VMs from a plain program, after Trickle (Benson and Fedosov, PDPTA 2007): connect,
/// ship functions and objects to the VMs, call them, map over the VMs and farm work out with dynamic load
/// balancing; results stream back as they arrive. No VR class to write: the session is one.
/// </summary>
/// <example><code>
/// await using var t = await Trickle.Connect(args);
/// var primes = await t.ForkWork(Enumerable.Range(0, 100), block => CountPrimes(block * 10_000, 10_000)).SumAsync();
/// </code></example>
public sealed class Trickle : IAsyncDisposable
{
    [ThreadStatic] private static VmInfo? t_here;

    private readonly RiverConnection _connection;
    private readonly AsyncVirtualResource _session;
    private readonly TaskCompletionSource _end;
    private readonly Task _ended;
    private readonly ConcurrentDictionary<(VmId, Type), Lazy<ITrickleAgent>> _agents = new();

    private Trickle(RiverConnection connection, AsyncVirtualResource session, TaskCompletionSource end, Task ended)
    {
        _connection = connection;
        _session = session;
        _end = end;
        _ended = ended;
        Vms = session.Discover();
    }

    /// <summary>The VM a shipped function runs on, while it runs; null elsewhere.</summary>
    public static VmInfo? Here
    {
        get => t_here;
        internal set => t_here = value;
    }

    /// <summary>The VMs found at <see cref="Connect"/>, this program's own first.</summary>
    public IReadOnlyList<VmInfo> Vms { get; }

    /// <summary>The program's arguments, River's options taken out.</summary>
    public IReadOnlyList<string> Args => _connection.Args;

    /// <summary>
    /// Joins the cluster River's options name (<c>--seeds</c>, <c>--discover</c>, <c>--cluster</c>, <c>--key-file</c>, or
    /// RIVER_* variables), or starts an embedded cluster of <c>--vms N</c> VMs, and discovers its VMs.
    /// </summary>
    /// <param name="args">the program's command line; River's options are taken out (see <see cref="Args"/>).</param>
    /// <exception cref="ArgumentException">a bad option.</exception>
    /// <exception cref="ClusterJoinException">no seed took this program in.</exception>
    public static async Task<Trickle> Connect(string[]? args = null)
    {
        var connection = await RiverApp.ConnectAsync(args ?? []);
        // The session is a VR of its own that lives until DisposeAsync: it owns the program's objects and agents.
        var session = new TaskCompletionSource<AsyncVirtualResource>(TaskCreationOptions.RunContinuationsAsynchronously);
        var end = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ended = connection.Vm.Spawn(async me =>
        {
            session.SetResult(me);
            await end.Task;
        });
        return new Trickle(connection, await session.Task, end, ended);
    }

    /// <summary>Makes a <typeparamref name="TImpl"/> on <paramref name="vm"/> and returns a proxy to it (see <see cref="Rai"/>).</summary>
    public T Inject<T, TImpl>(VmInfo vm, params object?[] ctorArgs)
        where T : class
        where TImpl : class, T =>
        Rai.Create<T, TImpl>(_session, vm, ctorArgs);

    /// <summary>Makes one <typeparamref name="TImpl"/> on every VM, in the order of <see cref="Vms"/>.</summary>
    public IReadOnlyList<T> Inject<T, TImpl>(params object?[] ctorArgs)
        where T : class
        where TImpl : class, T =>
        [.. Vms.Select(vm => Inject<T, TImpl>(vm, ctorArgs))];

    /// <summary>Runs <paramref name="f"/> on <paramref name="vm"/>; its code is shipped when the VM lacks it, and the values it captured are copied.</summary>
    /// <exception cref="RaiRemoteException">the function threw there.</exception>
    /// <exception cref="RaiObjectGoneException">the VM is lost.</exception>
    public async Task<TResult> Call<TResult>(VmInfo vm, Func<TResult> f) => (TResult)(await Run(vm, f, []))!;

    /// <summary>Runs <paramref name="f"/> on <paramref name="vm"/> with <paramref name="arg"/> (copied).</summary>
    public async Task<TResult> Call<T, TResult>(VmInfo vm, Func<T, TResult> f, T arg) => (TResult)(await Run(vm, f, [arg]))!;

    /// <summary>Runs <paramref name="f"/> once on every VM; the results come as they are ready.</summary>
    public async IAsyncEnumerable<TResult> Map<TResult>(Func<TResult> f, [EnumeratorCancellation] CancellationToken cancel = default)
    {
        await foreach (var done in Task.WhenEach(Vms.Select(vm => Call(vm, f))).WithCancellation(cancel)) yield return await done;
    }

    /// <summary>
    /// Applies <paramref name="f"/> to every item, on the VMs: each VM gets its next item as soon as it finished the
    /// last, so faster VMs take more. Results come in the order they are ready. An item whose VM is lost goes to
    /// another VM; an exception of <paramref name="f"/> ends the enumeration with a <see cref="RaiRemoteException"/>.
    /// </summary>
    /// <param name="items">read lazily, one at a time, as VMs ask for work.</param>
    /// <param name="f">a lambda or static method; what it captures is copied to the VMs with each item.</param>
    /// <param name="perVm">items under way on each VM at once (its cores, say); 1 by default.</param>
    /// <param name="cancel">stops handing out items.</param>
    public async IAsyncEnumerable<TResult> ForkWork<T, TResult>(IEnumerable<T> items, Func<T, TResult> f, int perVm = 1, [EnumeratorCancellation] CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentOutOfRangeException.ThrowIfLessThan(perVm, 1);
        var code = ShippedCode.Of(f);
        var anchor = ShippedCode.Anchor(f);
        var results = Channel.CreateUnbounded<TResult>();
        var work = new WorkQueue<T>(items);
        // Stops handing out items: when the caller stops reading (cancel, a break, an error) or f threw. A plain
        // source, not linked to cancel: it holds nothing to release, so workers still under way after the
        // enumeration ended may use it.
        var stop = new CancellationTokenSource();
        var agents = await Task.WhenAll(Vms.Select(vm => Task.Run(() => Agent(vm, anchor))));
        _ = FinishAsync();
        try
        {
            await foreach (var r in results.Reader.ReadAllAsync(cancel)) yield return r;
        }
        finally
        {
            stop.Cancel();
        }

        bool Stopping() => stop.IsCancellationRequested || cancel.IsCancellationRequested;

        // Rounds of workers, one per agent slot; a worker whose VM is lost gives its item back and drops out,
        // and while items are left the living take them in another round.
        async Task FinishAsync()
        {
            Exception? error = null;
            try
            {
                var alive = agents.SelectMany(a => Enumerable.Repeat(a, perVm)).ToList();
                while (!work.Done && !Stopping())
                {
                    if (alive.Count == 0) throw new RaiObjectGoneException(default, "every VM that took work is lost, and items are left");
                    var living = await Task.WhenAll(alive.Select(Worker));
                    alive = [.. alive.Where((_, i) => living[i])];
                }
            }
            catch (Exception e)
            {
                error = e;
            }
            results.Writer.TryComplete(error);
        }

        async Task<bool> Worker(ITrickleAgent agent)
        {
            while (!Stopping() && work.TryTake(out var item))
            {
                try
                {
                    results.Writer.TryWrite((TResult)(await agent.Run(code, [item]))!); // unbounded: fails only once completed
                }
                catch (RaiObjectGoneException)
                {
                    work.Return(item);
                    return false;
                }
                catch
                {
                    stop.Cancel(); // the other workers take no more items: the enumeration ends with this error
                    throw;
                }
            }
            return true;
        }
    }

    private Task<object?> Run(VmInfo vm, Delegate f, object?[] args) =>
        Task.Run(() => Agent(vm, ShippedCode.Anchor(f)).Run(ShippedCode.Of(f), args));

    /// <summary>The agent of <paramref name="anchor"/>'s program on <paramref name="vm"/>, deployed on first use.</summary>
    private ITrickleAgent Agent(VmInfo vm, Type anchor) => _agents.GetOrAdd((vm.Id, anchor), key => new Lazy<ITrickleAgent>(() =>
        Rai.Create<ITrickleAgent>(_session, vm, typeof(TrickleAgent<>).MakeGenericType(anchor), vm))).Value;

    /// <summary>Ends the session: its objects and agents are released and this program leaves the cluster.</summary>
    public async ValueTask DisposeAsync()
    {
        _end.TrySetResult();
        await _ended;
        await _connection.DisposeAsync();
    }

    /// <summary>Items handed out one at a time, and items given back when their VM was lost.</summary>
    private sealed class WorkQueue<T>(IEnumerable<T> items)
    {
        private readonly IEnumerator<T> _items = items.GetEnumerator();
        private readonly Queue<T> _returned = [];
        private bool _exhausted;

        /// <summary>True once every item was taken and none was given back.</summary>
        public bool Done
        {
            get
            {
                lock (_returned) return _exhausted && _returned.Count == 0;
            }
        }

        public bool TryTake(out T item)
        {
            lock (_returned)
            {
                if (_returned.TryDequeue(out item!)) return true;
                if (!_exhausted && _items.MoveNext())
                {
                    item = _items.Current;
                    return true;
                }
                _exhausted = true;
                _items.Dispose();
                return false;
            }
        }

        public void Return(T item)
        {
            lock (_returned) _returned.Enqueue(item);
        }
    }
}

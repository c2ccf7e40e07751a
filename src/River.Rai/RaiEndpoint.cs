using System.Collections.Concurrent;

namespace River;

/// <summary>A remote object as one calling VR sees it: its host, and why it is gone once it is.</summary>
internal sealed class RaiTarget(VrId host)
{
    private string? _gone;

    public VrId Host { get; } = host;

    /// <summary>Why the object is gone, once it is.</summary>
    public string? Gone => Volatile.Read(ref _gone);

    /// <summary>Marks the object gone, once; false when it was already. A full fence either way (see <see cref="RaiEndpoint.Call"/>).</summary>
    public bool SetGone(string reason) => Interlocked.CompareExchange(ref _gone, reason, null) is null;
}

/// <summary>
/// The calling side of Rai for one VR: a VR of its own on the caller's VM that every proxy the caller holds
/// sends from, so replies come here and any number of calls can be under way (the caller's own queue and
/// thread stay its own). It monitors each host it calls, so a call to an object that is gone fails at once,
/// and ends with its caller.
/// </summary>
internal sealed class RaiEndpoint : AsyncVirtualResource
{
    /// <summary>
    /// A call packet's <c>id</c> carries the call's number shifted left by this many bits and the method's number in
    /// them, and its reply the same <c>id</c>: one attribute fewer on each call packet (a boxed value on either side).
    /// </summary>
    public const int MethodBits = 16;

    private static readonly ConcurrentDictionary<VrId, RaiEndpoint> OfCaller = new();

    private readonly RaiCallTable _calls = new();
    private readonly Dictionary<VrId, RaiTarget> _targets = [];
    private readonly RaiCompletions _completions = new();
    private string? _closed;
    private long _lastId;

    /// <summary>The endpoint of <paramref name="caller"/>, started the first time it is needed.</summary>
    public static RaiEndpoint Of(VirtualResourceBase caller)
    {
        if (OfCaller.TryGetValue(caller.Id, out var known)) return known;
        lock (OfCaller)
        {
            if (OfCaller.TryGetValue(caller.Id, out known)) return known;
            var endpoint = new RaiEndpoint();
            caller.Spawn(endpoint);
            OfCaller[caller.Id] = endpoint;
            return endpoint;
        }
    }

    /// <summary>The target <paramref name="host"/>, monitored from its first use.</summary>
    public RaiTarget Target(VrId host)
    {
        lock (_targets)
        {
            if (_targets.TryGetValue(host, out var known)) return known;
            var target = new RaiTarget(host);
            _targets[host] = target;
            if (_closed is { } closed) target.SetGone(closed);
            else Monitor(host);
            return target;
        }
    }

    /// <summary>A call whose reply is expected under an <c>id</c> of its own (method 0), not yet tied to a target.</summary>
    public long Expect(IRaiCall call)
    {
        var n = Interlocked.Increment(ref _lastId);
        _calls.Add(n, call);
        return n << MethodBits;
    }

    /// <summary>Ties an expected reply to its target: it fails when the target goes.</summary>
    public void Link(long id, IRaiCall call, RaiTarget target)
    {
        call.Target = target;
        Interlocked.MemoryBarrier(); // as in Call: Gone either sees the target set, or it is seen here
        if (target.Gone is { } gone && Forget(id)) call.Fail(new RaiObjectGoneException(target.Host, gone));
    }

    /// <summary>Gives up on the call a reply's <paramref name="id"/> names; false when it came (or failed) already.</summary>
    public bool Forget(long id) => Answered(id) is not null;

    /// <summary>Removes and returns the call a reply's <paramref name="id"/> names; null when it is not under way.</summary>
    private IRaiCall? Answered(long id) => _calls.Take(id >> MethodBits);

    /// <summary>Calls method <paramref name="method"/> of <paramref name="target"/>; <paramref name="call"/> completes with its result or the remote exception.</summary>
    public void Call(RaiTarget target, int method, object?[] args, IRaiCall call)
    {
        call.Target = target;
        var n = Interlocked.Increment(ref _lastId);
        var id = n << MethodBits | (uint)method;
        // Added, then the target looked at; Gone marks the target, then takes its calls (both steps full fences):
        // whichever comes second sees the other, so no call waits for a reply that cannot come. A call failed
        // here fails before the proxy hands out its task: no continuation runs on this thread.
        _calls.Add(n, call);
        if (target.Gone is { } gone)
        {
            if (Forget(id)) call.Fail(new RaiObjectGoneException(target.Host, gone));
            return;
        }
        try
        {
            // Up to three arguments travel as attributes of their own: an object?[] value costs more to carry.
            switch (args.Length)
            {
                case 0: Send(target.Host, new { tag = "rai.call", id }); break;
                case 1: Send(target.Host, new { tag = "rai.call", id, a0 = args[0] }); break;
                case 2: Send(target.Host, new { tag = "rai.call", id, a0 = args[0], a1 = args[1] }); break;
                case 3: Send(target.Host, new { tag = "rai.call", id, a0 = args[0], a1 = args[1], a2 = args[2] }); break;
                default: Send(target.Host, new { tag = "rai.call", id, args }); break;
            }
        }
        catch (Exception e)
        {
            if (Forget(id)) call.Fail(e);
        }
    }

    /// <summary>Waits for a blocking method's call and returns its value (or throws its exception).</summary>
    public static object? Block(IRaiCall call)
    {
        if (!call.Task.IsCompleted) RaiCompletions.BeforeBlocking();
        return ((RaiCall<object?>)call).Task.GetAwaiter().GetResult();
    }

    /// <summary>Releases the object: its host ends, and every caller's later calls fail at once.</summary>
    public void Release(RaiTarget target)
    {
        if (!target.SetGone("released")) return;
        Send(target.Host, new { tag = "rai.release" });
    }

    protected override async Task MainAsync(CancellationToken stop)
    {
        var why = "the VR that held the proxy ended";
        try
        {
            Monitor(Parent!.Value);
            while (true)
            {
                var p = await RecvAsync(cancel: stop);
                p.TryGet<string>("tag", out var tag);
                switch (tag)
                {
                    case "rai.ret":
                        if (Answered(p.Get<long>("id")) is { } done) _completions.Complete(done, p["value"]);
                        break;
                    case "rai.err":
                        if (Answered(p.Get<long>("id")) is { } failed)
                            _completions.Fail(failed, new RaiRemoteException(p.Get<string>("type"), p.Get<string>("message"), p.Get<string?>("stack")));
                        break;
                    case "river.down" when p.Src == Parent:
                        return;
                    case "river.down":
                        Gone(p.Src, Reason(p.Get<string>("reason"), p.Get<string?>("error")));
                        break;
                    default:
                        break; // river.undeliverable: the host's VM went; its river.down fails each call.
                }
            }
        }
        catch (OperationCanceledException)
        {
            why = "its VM stopped";
        }
        finally
        {
            OfCaller.TryRemove(new KeyValuePair<VrId, RaiEndpoint>(Parent!.Value, this));
            List<RaiTarget> all;
            lock (_targets)
            {
                _closed = why;
                all = [.. _targets.Values];
            }
            foreach (var t in all) Gone(t.Host, why);
            foreach (var call in _calls.TakeAll()) _completions.Fail(call, new RaiObjectGoneException(call.Target?.Host ?? default, why));
        }
    }

    private static string Reason(string reason, string? error) => reason switch
    {
        "normal" => "released",
        "lost" => "its VM is lost",
        "noproc" => "no VM knows it (released long ago, or never there)",
        _ => $"it {reason}: {error}",
    };

    /// <summary>Marks a target gone and fails its calls under way.</summary>
    private void Gone(VrId host, string reason)
    {
        RaiTarget? target;
        lock (_targets) _targets.Remove(host, out target); // proxies keep their target; a new Bind monitors afresh
        if (target is null) return;
        target.SetGone(reason);
        foreach (var call in _calls.TakeAll(c => c.Target == target)) _completions.Fail(call, new RaiObjectGoneException(host, target.Gone!));
    }
}

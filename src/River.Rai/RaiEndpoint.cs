using System.Collections.Concurrent;

namespace River;

/// <summary>A remote object as one calling VR sees it: its host, and why it is gone once it is.</summary>
internal sealed class RaiTarget(VrId host)
{
    public VrId Host { get; } = host;

    /// <summary>Set once, under the endpoint's call table lock; a call registers under the same lock, so none waits for a reply that cannot come.</summary>
    public string? Gone { get; set; }
}

/// <summary>
/// The calling side of Rai for one VR: a VR of its own on the caller's VM that every proxy the caller holds
/// sends from, so replies come here and any number of calls can be under way (the caller's own queue and
/// thread stay its own). It monitors each host it calls, so a call to an object that is gone fails at once,
/// and ends with its caller.
/// </summary>
internal sealed class RaiEndpoint : AsyncVirtualResource
{
    private static readonly ConcurrentDictionary<VrId, RaiEndpoint> OfCaller = new();

    private readonly Dictionary<long, IRaiCall> _calls = []; // also the lock for targets' Gone
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
            var target = new RaiTarget(host) { Gone = _closed };
            _targets[host] = target;
            if (_closed is null) Monitor(host);
            return target;
        }
    }

    /// <summary>A call whose reply is expected under a number of its own, not yet tied to a target.</summary>
    public long Expect(IRaiCall call)
    {
        var id = Interlocked.Increment(ref _lastId);
        lock (_calls) _calls.Add(id, call);
        return id;
    }

    /// <summary>Ties an expected reply to its target: it fails when the target goes.</summary>
    public void Link(long id, IRaiCall call, RaiTarget target)
    {
        lock (_calls)
        {
            if (target.Gone is null) call.Target = target;
            else if (_calls.Remove(id)) call.Fail(new RaiObjectGoneException(target.Host, target.Gone));
        }
    }

    /// <summary>Gives up on an expected reply; false when it came (or failed) already.</summary>
    public bool Forget(long id)
    {
        lock (_calls) return _calls.Remove(id);
    }

    /// <summary>Calls method <paramref name="method"/> of <paramref name="target"/>; <paramref name="call"/> completes with its result or the remote exception.</summary>
    public void Call(RaiTarget target, int method, object?[] args, IRaiCall call)
    {
        call.Target = target;
        var id = Interlocked.Increment(ref _lastId);
        lock (_calls)
        {
            // Failed here, before the proxy hands out its task: no continuation can run on this thread yet.
            if (target.Gone is { } gone)
            {
                call.Fail(new RaiObjectGoneException(target.Host, gone));
                return;
            }
            _calls.Add(id, call);
        }
        try
        {
            // Up to three arguments travel as attributes of their own: an object?[] value costs more to carry.
            switch (args.Length)
            {
                case 0: Send(target.Host, new { tag = "rai.call", id, m = method }); break;
                case 1: Send(target.Host, new { tag = "rai.call", id, m = method, a0 = args[0] }); break;
                case 2: Send(target.Host, new { tag = "rai.call", id, m = method, a0 = args[0], a1 = args[1] }); break;
                case 3: Send(target.Host, new { tag = "rai.call", id, m = method, a0 = args[0], a1 = args[1], a2 = args[2] }); break;
                default: Send(target.Host, new { tag = "rai.call", id, m = method, args }); break;
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
        lock (_calls)
        {
            if (target.Gone is not null) return;
            target.Gone = "released";
        }
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
                        if (Take(p.Get<long>("id")) is { } done) _completions.Complete(done, p["value"]);
                        break;
                    case "rai.err":
                        if (Take(p.Get<long>("id")) is { } failed)
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
            List<IRaiCall> left;
            lock (_calls)
            {
                left = [.. _calls.Values];
                _calls.Clear();
            }
            foreach (var call in left) _completions.Fail(call, new RaiObjectGoneException(call.Target?.Host ?? default, why));
        }
    }

    private IRaiCall? Take(long id)
    {
        lock (_calls) return _calls.Remove(id, out var call) ? call : null;
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
        List<IRaiCall> failed = [];
        lock (_calls)
        {
            target.Gone ??= reason;
            foreach (var (id, call) in _calls)
                if (call.Target == target && _calls.Remove(id)) failed.Add(call);
        }
        foreach (var call in failed) _completions.Fail(call, new RaiObjectGoneException(host, target.Gone));
    }
}

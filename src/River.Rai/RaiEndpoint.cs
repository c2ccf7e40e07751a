using System.Collections.Concurrent;

namespace River;

/// <summary>A remote object as one calling VR sees it: its host, and why it is gone once it is.</summary>
internal sealed class RaiTarget(VrId host)
{
    public VrId Host { get; } = host;

    /// <summary>Set once, under the target's lock; a call registers under the same lock, so none waits for a reply that cannot come.</summary>
    public string? Gone { get; set; }
}

/// <summary>One call waiting for its reply.</summary>
internal sealed class RaiCall() : TaskCompletionSource<object?>(TaskCreationOptions.RunContinuationsAsynchronously)
{
    public RaiTarget? Target { get; set; }
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

    private readonly ConcurrentDictionary<long, RaiCall> _calls = new();
    private readonly Dictionary<VrId, RaiTarget> _targets = [];
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
    public (long Id, RaiCall Call) Expect()
    {
        var id = Interlocked.Increment(ref _lastId);
        var call = new RaiCall();
        _calls[id] = call;
        return (id, call);
    }

    /// <summary>Ties an expected reply to its target: it fails when the target goes.</summary>
    public void Link(long id, RaiCall call, RaiTarget target)
    {
        lock (target)
        {
            if (target.Gone is null) call.Target = target;
            else if (_calls.TryRemove(id, out _)) call.TrySetException(new RaiObjectGoneException(target.Host, target.Gone));
        }
    }

    /// <summary>Gives up on an expected reply.</summary>
    public void Forget(long id) => _calls.TryRemove(id, out _);

    /// <summary>Calls method <paramref name="method"/> of <paramref name="target"/>; completes with its result or the remote exception.</summary>
    public Task<object?> Call(RaiTarget target, int method, object?[] args)
    {
        var id = Interlocked.Increment(ref _lastId);
        var call = new RaiCall { Target = target };
        lock (target)
        {
            if (target.Gone is { } gone) return Task.FromException<object?>(new RaiObjectGoneException(target.Host, gone));
            _calls[id] = call;
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
            if (_calls.TryRemove(id, out _)) call.TrySetException(e);
        }
        return call.Task;
    }

    /// <summary>Releases the object: its host ends, and every caller's later calls fail at once.</summary>
    public void Release(RaiTarget target)
    {
        lock (target)
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
                        if (_calls.TryRemove(p.Get<long>("id"), out var done)) done.TrySetResult(p["value"]);
                        break;
                    case "rai.err":
                        if (_calls.TryRemove(p.Get<long>("id"), out var failed))
                            failed.TrySetException(new RaiRemoteException(p.Get<string>("type"), p.Get<string>("message"), p.Get<string?>("stack")));
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
            foreach (var id in _calls.Keys)
                if (_calls.TryRemove(id, out var call)) call.TrySetException(new RaiObjectGoneException(call.Target?.Host ?? default, why));
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
        lock (target) target.Gone ??= reason;
        foreach (var (id, call) in _calls)
            if (call.Target == target && _calls.TryRemove(id, out _)) call.TrySetException(new RaiObjectGoneException(host, target.Gone));
    }
}

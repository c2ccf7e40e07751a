using System.Collections.Concurrent;

namespace River;

/// <summary>
/// One endpoint's calls under way, by number, without a lock: numbers are handed out in order, so call n takes
/// slot n mod the table's size, and the rare call still under way when its slot comes round again (it outlived
/// thousands of later calls) waits in a dictionary beside. Callers add on their threads while the endpoint
/// takes replies on its own; one lock for both was the most contended point of a call.
/// </summary>
internal sealed class RaiCallTable
{
    private readonly IRaiCall?[] _slots = new IRaiCall?[2048];
    private readonly ConcurrentDictionary<long, IRaiCall> _overflow = new();

    /// <summary>Adds <paramref name="call"/> under <paramref name="id"/> (a full fence, see <see cref="RaiEndpoint.Call"/>).</summary>
    public void Add(long id, IRaiCall call)
    {
        call.Id = id;
        if (Interlocked.CompareExchange(ref _slots[id & (_slots.Length - 1)], call, null) is not null) _overflow[id] = call;
    }

    /// <summary>Removes and returns call <paramref name="id"/>; null when it is not under way (answered, failed, given up).</summary>
    public IRaiCall? Take(long id)
    {
        ref var slot = ref _slots[id & (_slots.Length - 1)];
        var call = Volatile.Read(ref slot);
        if (call is not null && call.Id == id && Interlocked.CompareExchange(ref slot, null, call) == call) return call;
        return _overflow.TryRemove(id, out call) ? call : null;
    }

    /// <summary>Removes and returns every call under way that <paramref name="which"/> picks (every one when null).</summary>
    public List<IRaiCall> TakeAll(Func<IRaiCall, bool>? which = null)
    {
        List<IRaiCall> taken = [];
        for (var i = 0; i < _slots.Length; i++)
            if (Volatile.Read(ref _slots[i]) is { } call && (which is null || which(call)) && Interlocked.CompareExchange(ref _slots[i], null, call) == call)
                taken.Add(call);
        foreach (var (id, call) in _overflow)
            if ((which is null || which(call)) && _overflow.TryRemove(id, out _)) taken.Add(call);
        return taken;
    }
}

using System.Collections.Concurrent;

namespace River;

/// <summary>
/// Monitors (Erlang's, over River's packets): a VR that monitors another gets one packet
/// <c>{ tag = "river.down", vr, reason, error }</c> (src = the monitored VR) when that one ends:
/// <c>normal</c>, <c>failed</c> (error "Type: message"), <c>lost</c> (its VM is suspected or gone: within
/// the failure timeout) or <c>noproc</c> (no VM knows it). The VM of the monitored VR watches it and
/// reports its end; the watcher's VM watches that VM. Ended VRs are remembered for a minute, so a
/// monitor placed late gets the real reason. A link (<see cref="Links"/>) is a pair of such watches, one each
/// way, whose end is delivered as a link exit instead of a <c>river.down</c> packet.
/// </summary>
internal sealed class Monitors(RiverVm vm)
{
    /// <summary>The tag of the packet a monitor delivers.</summary>
    public const string DownTag = "river.down";

    public const string Normal = "normal", Failed = "failed", Lost = "lost", NoProc = "noproc";

    private static readonly string[] DownNames = ["tag", "vr", "reason", "error"];
    private static readonly TimeSpan Remembered = TimeSpan.FromMinutes(1);

    /// <summary>A monitor a local VR placed: on which VM its target was found (null while asking), and who has yet to answer.</summary>
    private sealed class Watch(VrId watcher, VrId target, bool link, HashSet<VmId> asked)
    {
        public VrId Watcher { get; } = watcher;
        public VrId Target { get; } = target;
        public bool Link { get; } = link;
        public VmId? At;
        public readonly HashSet<VmId> Asked = asked;
        public readonly long Since = Environment.TickCount64;

        /// <summary>A VM asked was lost before it answered: it may have run the target, so not finding it is <c>lost</c>, not <c>noproc</c>.</summary>
        public bool MaybeLost;

        public string NotFound => MaybeLost ? Lost : NoProc;
    }

    /// <summary>Who watches a VR here: the watcher's VM and the monitor's reference there.</summary>
    private readonly record struct Watcher(VmId Vm, VrId Vr, long Ref);

    private readonly ConcurrentDictionary<long, Watch> _watches = new();
    private readonly Dictionary<VrId, List<Watcher>> _watchers = [];
    private readonly ConcurrentDictionary<VrId, (string Reason, string? Error, long At)> _ended = new();
    private long _nextRef;

    public void Monitor(VrContext me, VrId target) => AddWatch(me.Id, target, link: false, at: null);

    /// <summary>
    /// Places a watch of <paramref name="target"/> for local VR <paramref name="watcher"/>: a monitor, or one half
    /// of a link (its end goes to <see cref="Links.Exit"/>). <paramref name="at"/>: the VM the target runs on, when
    /// known for sure. Returns the watch's reference, for <see cref="Withdraw"/>.
    /// </summary>
    public long AddWatch(VrId watcher, VrId target, bool link, VmId? at)
    {
        var reference = Interlocked.Increment(ref _nextRef);
        if (at == vm.Id || vm.TryGetLocal(target, out _) || _ended.ContainsKey(target))
        {
            _watches[reference] = new Watch(watcher, target, link, []) { At = vm.Id };
            Place(target, new Watcher(vm.Id, watcher, reference), link);
            return reference;
        }
        // Elsewhere: ask the VM it was last seen on (taken as its VM unless it says no: if that VM is lost
        // first, so is the VR), or every member; the one that runs it answers yes.
        var known = at is { } where ? vm.Membership.PeerOf(where)
            : vm.Mirrors.LiveReplica(target) is { } replica ? vm.Membership.PeerOf(replica) : vm.Router.LocationOf(target);
        var peers = known is not null ? [known] : at is not null ? [] : vm.Membership.Peers();
        var watch = new Watch(watcher, target, link, [.. peers.Select(p => p.RemoteId)]) { At = known?.RemoteId };
        _watches[reference] = watch;
        if (peers.Count == 0) Report(reference, at is null ? NoProc : Lost, null); // at: its VM, already gone
        foreach (var peer in peers) peer.Send(Frames.Control(vm.Serializer, new MonitorRequest(reference, target, watcher, link)));
        return reference;
    }

    /// <summary>Withdraws watch <paramref name="reference"/>; returns the VM its target was found on (null: not withdrawn, or not found yet).</summary>
    public VmId? Withdraw(long reference)
    {
        if (!_watches.TryRemove(reference, out var watch)) return null;
        if (watch.At == vm.Id) Unplace(watch.Target, vm.Id, reference);
        else if (watch.At is { } at) vm.Membership.PeerOf(at)?.Send(Frames.Control(vm.Serializer, new DemonitorRequest(reference, watch.Target)));
        return watch.At;
    }

    public void Demonitor(VrContext me, VrId target)
    {
        foreach (var (reference, watch) in _watches)
            if (!watch.Link && watch.Watcher == me.Id && watch.Target == target) Withdraw(reference);
        // One already delivered is taken back: after Demonitor, no river.down of that VR is received.
        me.Mailbox.Discard(Matcher.From(new { tag = DownTag, src = target }));
    }

    /// <summary>A VR here ended (<paramref name="error"/>: why, if it did not return): everyone watching it is told, and its end is remembered. Called before it leaves the VM's list.</summary>
    public void OnEnded(VrId id, Exception? error)
    {
        var reason = error is null ? Normal : Failed;
        var text = error is null ? null : $"{error.GetType().FullName}: {error.Message}";
        List<Watcher>? watchers;
        lock (_watchers)
        {
            _ended[id] = (reason, text, Environment.TickCount64);
            _watchers.Remove(id, out watchers);
        }
        foreach (var w in watchers ?? []) Tell(w, id, reason, text);
        vm.Links.OnEnded(id);
    }

    public void OnControl(IPeer from, object message)
    {
        switch (message)
        {
            case MonitorRequest r:
                var here = vm.TryGetLocal(r.Target, out _) || _ended.ContainsKey(r.Target);
                from.Send(Frames.Control(vm.Serializer, new MonitorAnswer(r.Ref, here)));
                if (here) Place(r.Target, new Watcher(from.RemoteId, r.Watcher, r.Ref), r.Link);
                break;
            case MonitorAnswer a when _watches.TryGetValue(a.Ref, out var watch):
                lock (watch)
                {
                    watch.Asked.Remove(from.RemoteId);
                    if (a.Found)
                    {
                        watch.At = from.RemoteId;
                        watch.Asked.Clear(); // found: the others' answers no longer matter
                    }
                    else
                    {
                        if (watch.At == from.RemoteId) watch.At = null;
                        if (watch.At is null && watch.Asked.Count == 0) Report(a.Ref, watch.NotFound, null);
                    }
                }
                break;
            case DemonitorRequest d:
                Unplace(d.Target, from.RemoteId, d.Ref);
                break;
            case Down d:
                Report(d.Ref, d.Reason, d.Error);
                break;
        }
    }

    /// <summary>A VM is suspected or gone: monitors of VRs there report <c>lost</c>; it no longer has to answer (and, had it not answered yet, the target may have been there).</summary>
    public void OnVmLost(VmId id)
    {
        foreach (var (reference, watch) in _watches)
        {
            lock (watch)
            {
                if (watch.At == id && vm.Mirrors.LiveReplica(watch.Target, id) is { } next && vm.TryGetLocal(watch.Watcher, out _)
                    && _watches.TryRemove(reference, out _))
                    AddWatch(watch.Watcher, watch.Target, watch.Link, next); // a mirrored VR is lost only with its last replica: watch the next one
                else if (watch.At == id) Report(reference, Lost, null);
                else if (watch.At is null && watch.Asked.Remove(id))
                {
                    watch.MaybeLost = true;
                    if (watch.Asked.Count == 0) Report(reference, Lost, null);
                }
            }
        }
    }

    /// <summary>Housekeeping: a question no VM answered in time is <c>noproc</c> (or <c>lost</c> when its VM is suspected or gone); ends are forgotten after a minute.</summary>
    public void Expire()
    {
        var now = Environment.TickCount64;
        foreach (var (reference, watch) in _watches)
        {
            if (now - watch.Since <= 3000 || watch.At == vm.Id) continue;
            if (watch.At is not { } at) Report(reference, watch.NotFound, null);
            // Its VM has not answered yet: lost only if the failure detector says so (OnVmLost reports that, or did before
            // this watch was placed). A live VM slow to answer, as on a loaded machine, has lost nothing.
            else if (watch.Asked.Count > 0 && !vm.Membership.IsLive(at)) Report(reference, Lost, null);
        }
        foreach (var (id, end) in _ended)
            if (now - end.At > Remembered.TotalMilliseconds) _ended.TryRemove(id, out _);
    }

    /// <summary>
    /// Watches <paramref name="target"/> here for <paramref name="watcher"/>, or answers at once if it ended or is
    /// unknown (a link too: so a link placed just after a VR's end still sees it). A link to a running VR gets its
    /// other half: the target watches the linker.
    /// </summary>
    private void Place(VrId target, Watcher watcher, bool link)
    {
        (string Reason, string? Error) now;
        lock (_watchers)
        {
            if (_ended.TryGetValue(target, out var end)) now = (end.Reason, end.Error);
            else if (vm.TryGetLocal(target, out _))
            {
                (_watchers.TryGetValue(target, out var list) ? list : _watchers[target] = []).Add(watcher);
                now = default;
            }
            else now = (NoProc, null);
        }
        if (now.Reason is null)
        {
            if (link) vm.Links.Add(target, watcher.Vr, watcher.Vm);
            return;
        }
        Tell(watcher, target, now.Reason, now.Error);
    }

    /// <summary>Removes the watch <paramref name="reference"/> of VM <paramref name="from"/> (references are numbered per VM).</summary>
    private void Unplace(VrId target, VmId from, long reference)
    {
        lock (_watchers)
            if (_watchers.TryGetValue(target, out var list)) list.RemoveAll(w => w.Ref == reference && w.Vm == from);
    }

    /// <summary>Ends a VR wherever it runs (a supervisor stopping a sibling): here at once, else its VM is asked.</summary>
    public void Kill(VrId target)
    {
        if (vm.Kill(target)) return;
        vm.Router.LocationOf(target)?.Send(Frames.Control(vm.Serializer, new KillRequest(target)));
    }

    /// <summary>Tells a watcher, here or on its VM, that <paramref name="target"/> ended.</summary>
    private void Tell(Watcher w, VrId target, string reason, string? error)
    {
        if (w.Vm == vm.Id) Report(w.Ref, reason, error);
        else vm.Membership.PeerOf(w.Vm)?.Send(Frames.Control(vm.Serializer, new Down(w.Ref, target, reason, error)));
    }

    /// <summary>Delivers the one <c>river.down</c> packet of a monitor a local VR placed (or a link's exit), unless it was withdrawn.</summary>
    private void Report(long reference, string reason, string? error)
    {
        if (!_watches.TryRemove(reference, out var watch) || !vm.TryGetLocal(watch.Watcher, out var watcher)) return;
        if (watch.Link) vm.Links.Exit(watcher, watch.Target, reason, error);
        else watcher.Mailbox.Post(new Packet(watch.Target, watch.Watcher, DownNames, [DownTag, watch.Target, reason, error]));
    }
}

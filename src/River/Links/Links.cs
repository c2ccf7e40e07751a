using System.Collections.Concurrent;

namespace River;

/// <summary>
/// Links (Erlang's, on River's monitors): a link between two VRs is two monitor watches, one each way, placed
/// by <see cref="Monitors"/> with a link flag (the VM that runs the linked VR places the other half). When one
/// VR ends, the other gets its end as an exit: a <see cref="LinkedVrFailedException"/> raised in its mailbox
/// (thrown at its next River call), or, when it traps exits, a packet <c>{ tag = "river.exit", vr, reason, error }</c>.
/// A normal end is no error: only a VR that traps exits hears of it. Each pair is linked at most once.
/// </summary>
internal sealed class Links(RiverVm vm)
{
    /// <summary>The tag of the packet a VR that traps exits gets when a linked VR ends.</summary>
    public const string ExitTag = "river.exit";

    private static readonly string[] ExitNames = ["tag", "vr", "reason", "error"];

    /// <summary>
    /// The halves of links kept here: local VR → the VR it is linked to → the monitor watch carrying it (0 while it is
    /// placed). By local VR, so a VR's end drops its own halves without walking every link on the VM.
    /// </summary>
    private readonly ConcurrentDictionary<VrId, ConcurrentDictionary<VrId, long>> _halves = new();

    /// <summary>Links <paramref name="me"/> and <paramref name="other"/> both ways; linking to itself does nothing.</summary>
    public void Link(VrContext me, VrId other)
    {
        if (other != me.Id) Add(me.Id, other, null);
    }

    /// <summary>Places the half of a link by which local VR <paramref name="me"/> watches <paramref name="other"/> (running on <paramref name="at"/>, when known).</summary>
    public void Add(VrId me, VrId other, VmId? at)
    {
        var mine = _halves.GetOrAdd(me, static _ => new());
        if (!mine.TryAdd(other, 0)) return; // linked already
        var reference = vm.Monitors.AddWatch(me, other, link: true, at);
        mine.TryUpdate(other, reference, 0); // unless it fired already (noproc at once)
    }

    /// <summary>Removes the link between <paramref name="me"/> and <paramref name="other"/>, both halves; an exit of it not yet seen is taken back.</summary>
    public void Unlink(VrContext me, VrId other)
    {
        var at = Drop(me.Id, other);
        if (vm.TryGetLocal(other, out _)) Drop(other, me.Id);
        else
        {
            var request = Frames.Control(vm.Serializer, new UnlinkRequest(other, me.Id)).ToArray();
            var where = at is { } a ? vm.Membership.PeerOf(a) : vm.Router.LocationOf(other);
            foreach (var peer in where is not null ? [where] : vm.Membership.Peers()) peer.Send(request);
        }
        me.Mailbox.Unraise(e => e is LinkedVrFailedException l && l.Vr == other);
        me.Mailbox.Discard(Matcher.From(new { tag = ExitTag, src = other }));
    }

    public void OnUnlink(UnlinkRequest request) => Drop(request.Vr, request.Linker);

    /// <summary>Withdraws the half by which <paramref name="me"/> watches <paramref name="other"/>; returns the VM <paramref name="other"/> was found on.</summary>
    private VmId? Drop(VrId me, VrId other) =>
        _halves.TryGetValue(me, out var mine) && mine.TryRemove(other, out var reference) && reference != 0 ? vm.Monitors.Withdraw(reference) : null;

    /// <summary>A linked VR ended: tell <paramref name="me"/>, as an exit packet when it traps exits, else as an error unless the end was normal.</summary>
    public void Exit(VrContext me, VrId other, string reason, string? error)
    {
        if (_halves.TryGetValue(me.Id, out var mine)) mine.TryRemove(other, out _);
        if (me.TrapExits) me.Mailbox.Post(new Packet(other, me.Id, ExitNames, [ExitTag, other, reason, error]));
        else if (reason != Monitors.Normal) me.Mailbox.Raise(new LinkedVrFailedException(other, reason, error));
    }

    /// <summary>A local VR ended: the halves by which it watched others go (the others learn of its end through theirs).</summary>
    public void OnEnded(VrId id)
    {
        if (!_halves.TryRemove(id, out var mine)) return;
        foreach (var (_, reference) in mine)
            if (reference != 0) vm.Monitors.Withdraw(reference);
    }
}

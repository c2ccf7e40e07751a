namespace River.Tests.Links;

/// <summary>
/// A VR for link tests, on any VM (its behaviour travels in DeployArgs: observer, partner to link or null, trap exits).
/// It tells the observer "ready", then obeys: "fail" throws, "end" returns, "ping" answers "pong", "link"/"unlink"/"monitor" vr.
/// Downs, exits it traps and the link error it catches (then rethrows, so it fails) are reported to the observer.
/// </summary>
public sealed class Linked : VirtualResource
{
    protected override void Main()
    {
        var observer = (VrId)DeployArgs[0]!;
        TrapExits = (bool)DeployArgs[2]!;
        if (DeployArgs[1] is VrId partner) Link(partner);
        Send(observer, new { tag = "ready" });
        try
        {
            while (true)
            {
                var p = Recv();
                switch (p.Get<string>("tag"))
                {
                    case "fail":
                        throw new InvalidOperationException("boom");
                    case "end":
                        return;
                    case "ping":
                        Send(observer, new { tag = "pong" });
                        break;
                    case "link":
                        Link(p.Get<VrId>("vr"));
                        Send(observer, new { tag = "ready" });
                        break;
                    case "unlink":
                        Unlink(p.Get<VrId>("vr"));
                        Send(observer, new { tag = "unlinked" });
                        break;
                    case "monitor":
                        Monitor(p.Get<VrId>("vr"));
                        break;
                    case "river.exit" or "river.down":
                        var tag = p.Get<string>("tag")[6..];
                        Send(observer, new { tag, vr = p.Get<VrId>("vr"), reason = p.Get<string>("reason"), error = p.Get<string?>("error") });
                        break;
                }
            }
        }
        catch (LinkedVrFailedException e)
        {
            Send(observer, new { tag = "caught", vr = e.Vr, reason = e.Reason, error = e.Error, message = e.Message });
            throw;
        }
    }

    /// <summary>Deploys one on <paramref name="vm"/> and waits for its "ready".</summary>
    public static VrId Start(VirtualResource me, VmInfo vm, VrId? partner = null, bool trap = false)
    {
        var id = me.Deploy<Linked>(vm, me.Id, partner, trap);
        me.Recv(new { tag = "ready", src = id }, LinkTests.Bound);
        return id;
    }

    /// <summary>What the observer heard of <paramref name="from"/>: (vr, reason, error) of its "caught", "exit" or "down" packet (about <paramref name="about"/>, if given).</summary>
    public static (VrId Vr, string Reason, string? Error) Heard(VirtualResource me, VrId from, string tag, VrId? about = null)
    {
        var p = about is { } vr ? me.Recv(new { tag, src = from, vr }, LinkTests.Bound) : me.Recv(new { tag, src = from }, LinkTests.Bound);
        return (p.Get<VrId>("vr"), p.Get<string>("reason"), p.Get<string?>("error"));
    }
}

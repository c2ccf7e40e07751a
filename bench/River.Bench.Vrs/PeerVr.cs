namespace River.Bench.Vrs;

/// <summary>
/// The far end of a remote scenario. As an echo (<c>DeployArgs[0]</c> = true) it answers every
/// <c>tag = "d"</c> packet to its sender with the same attributes: <c>data</c> (a <c>byte[]</c>) or
/// <c>n</c> (an <c>int</c>). As a sink it drops them. Either way it answers <c>tag = "sync"</c> (so a
/// sender knows everything before it arrived: packets between two VRs keep their order), ends on
/// <c>tag = "stop"</c>, and recycles every packet it is done with (<see cref="Packet.Recycle"/>).
/// </summary>
public class PeerVr : VirtualResource
{
    protected override void Main()
    {
        var echo = DeployArgs is [true, ..];
        while (true)
        {
            var p = Recv();
            var tag = p.Get<string>("tag");
            switch (tag)
            {
                case "d" when echo:
                    if (p.TryGet<byte[]>("data", out var data)) Send(p.Src, new { tag, data });
                    else Send(p.Src, new { tag, n = p.Get<int>("n") });
                    break;
                case "sync":
                    Send(p.Src, new { tag });
                    break;
                case "stop":
                    return;
            }
            p.Recycle(); // a big value's array comes back for the next one (its echo, if any, was copied at Send)
        }
    }
}

/// <summary>A <see cref="PeerVr"/> whose queue has no limit: its senders never wait (the flow-control scenario's baseline).</summary>
public sealed class UnboundedPeerVr : PeerVr
{
    protected override QueueLimit? QueueLimit => River.QueueLimit.Unbounded;
}

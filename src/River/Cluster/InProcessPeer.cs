using System.Buffers;
using System.Threading.Channels;

namespace River;

/// <summary>
/// A link between two VMs of one process. Frames are real serialized bytes, as on the network, and
/// are handled on the receiving VM's own inbox loop, in order.
/// </summary>
internal sealed class InProcessPeer(VmId remoteId, InProcessPeer.Inbox target) : IPeer
{
    /// <summary>The link the receiving VM answers through.</summary>
    public InProcessPeer? Reverse { get; set; }

    public VmId RemoteId { get; } = remoteId;

    public bool Send(ReadOnlySpan<byte> frame, bool corkable = false) => target.Post(Reverse!, frame.ToArray());

    public bool Send(ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail, bool corkable = false)
    {
        var frame = GC.AllocateUninitializedArray<byte>(head.Length + tail.Length);
        head.CopyTo(frame);
        tail.CopyTo(frame.AsSpan(head.Length));
        return target.Post(Reverse!, frame);
    }

    /// <summary>One VM's incoming frames, handled by a single loop.</summary>
    internal sealed class Inbox
    {
        private readonly Channel<(IPeer From, byte[] Frame)> _frames =
            Channel.CreateUnbounded<(IPeer, byte[])>(new UnboundedChannelOptions { SingleReader = true });

        public Inbox(RiverVm vm) => Loop = Task.Run(async () =>
        {
            await foreach (var (from, frame) in _frames.Reader.ReadAllAsync())
                vm.OnFrame(from, frame);
        });

        public Task Loop { get; }

        public bool Post(IPeer from, byte[] frame) => _frames.Writer.TryWrite((from, frame));

        public void Complete() => _frames.Writer.TryComplete();
    }
}

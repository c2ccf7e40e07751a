using System.Buffers;
using System.Threading.Channels;

namespace River.Bench;

/// <summary>One end of a two-way link between two threads; the same bodies drive River and the baselines.</summary>
internal interface IEnd
{
    /// <summary>Sends one small message carrying <paramref name="n"/>.</summary>
    void Send(int n);

    /// <summary>Blocks for the next message and returns its number.</summary>
    int Recv();
}

/// <summary>Two threads joined by a link: River VRs, or plain threads over Channels.</summary>
internal abstract class Pair : IAsyncDisposable
{
    /// <summary>Runs <paramref name="a"/> and <paramref name="b"/> on the two ends, concurrently, and returns A's result.</summary>
    public abstract T Run<T>(Func<IEnd, T> a, Action<IEnd> b, TimeSpan timeout);

    public abstract ValueTask DisposeAsync();
}

/// <summary>Two thread VRs, on one VM or on two VMs of a <see cref="LocalCluster"/>.</summary>
internal sealed class RiverPair : Pair
{
    private readonly IAsyncDisposable _owner;
    private readonly RiverVm _vmA, _vmB;

    private RiverPair(IAsyncDisposable owner, RiverVm a, RiverVm b) => (_owner, _vmA, _vmB) = (owner, a, b);

    public static RiverPair OneVm()
    {
        var vm = new RiverVm();
        return new RiverPair(vm, vm, vm);
    }

    /// <summary>Each packet goes through the serializer and the in-process link, as between machines.</summary>
    public static RiverPair TwoVms()
    {
        var cluster = new LocalCluster(2);
        return new RiverPair(cluster, cluster.Vms[0], cluster.Vms[1]);
    }

    public override T Run<T>(Func<IEnd, T> a, Action<IEnd> b, TimeSpan timeout)
    {
        // B learns A's id from A's first packet, which also warms the route between the VMs.
        var bDone = BodyVr.Start(_vmB, vr =>
        {
            var hello = vr.Recv(new { tag = "hello" });
            b(new End(vr, hello.Src));
            return 0;
        }, out var bId);
        var aDone = BodyVr.Start(_vmA, vr =>
        {
            vr.Send(bId, new { tag = "hello" });
            return a(new End(vr, bId));
        }, out _);
        var result = Measure.Await(aDone, timeout, "River end A");
        Measure.Await(bDone, timeout, "River end B");
        return result;
    }

    public override ValueTask DisposeAsync() => _owner.DisposeAsync();

    /// <summary>Sends and receives the way a River program does: an anonymous object out, a match on tag in.</summary>
    private sealed class End(VirtualResource vr, VrId peer) : IEnd
    {
        public void Send(int n) => vr.Send(peer, new { tag = "d", n });

        public int Recv() => vr.Recv(new { tag = "d" }).Get<int>("n");
    }
}

/// <summary>Two dedicated threads over a pair of unbounded Channels, reading <see cref="BlockingReader{T}.WaitMode"/>.</summary>
internal sealed class ThreadPair : Pair
{
    private readonly Func<(IEnd A, IEnd B)> _link;
    private readonly List<Action> _closers = [];

    private ThreadPair(Func<ThreadPair, (IEnd, IEnd)> link) => _link = () => link(this);

    /// <summary>A small message object per send, like River's packet but nothing else.</summary>
    public static ThreadPair Channels() => new(self =>
    {
        var ab = self.Track(BlockingReader<Msg>.NewChannel());
        var ba = self.Track(BlockingReader<Msg>.NewChannel());
        return (new ChannelEnd(ab.Writer, new(ba.Reader)), new ChannelEnd(ba.Writer, new(ab.Reader)));
    });

    /// <summary>River's own serializer writing and reading real packets over a Channel of byte arrays: the wire part of a send between VMs, without River's routing.</summary>
    public static ThreadPair Serialized() => new(self =>
    {
        var ab = self.Track(BlockingReader<byte[]>.NewChannel());
        var ba = self.Track(BlockingReader<byte[]>.NewChannel());
        VrId a = VrId.New(), b = VrId.New();
        return (new SerializedEnd(a, b, ab.Writer, new(ba.Reader)), new SerializedEnd(b, a, ba.Writer, new(ab.Reader)));
    });

    public override T Run<T>(Func<IEnd, T> a, Action<IEnd> b, TimeSpan timeout)
    {
        var (endA, endB) = _link();
        var bDone = OnThread(() =>
        {
            b(endB);
            return 0;
        }, "B");
        var aDone = OnThread(() => a(endA), "A");
        var result = Measure.Await(aDone, timeout, "baseline end A");
        Measure.Await(bDone, timeout, "baseline end B");
        return result;
    }

    /// <summary>Completes the channels, so an end left blocked by a failure ends too.</summary>
    public override ValueTask DisposeAsync()
    {
        foreach (var close in _closers) close();
        return ValueTask.CompletedTask;
    }

    private Channel<T> Track<T>(Channel<T> channel)
    {
        _closers.Add(() => channel.Writer.TryComplete());
        return channel;
    }

    private static Task<T> OnThread<T>(Func<T> body, string name)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        new Thread(() =>
        {
            try
            {
                done.TrySetResult(body());
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        })
        { IsBackground = true, Name = $"baseline {name}" }.Start();
        return done.Task;
    }

    private sealed record Msg(string Tag, int N);

    private sealed class ChannelEnd(ChannelWriter<Msg> output, BlockingReader<Msg> input) : IEnd
    {
        public void Send(int n) => output.TryWrite(new Msg("d", n));

        public int Recv() => input.Read().N;
    }

    private sealed class SerializedEnd(VrId self, VrId peer, ChannelWriter<byte[]> output, BlockingReader<byte[]> input) : IEnd
    {
        private readonly RiverSerializer _serializer = new();
        private readonly ArrayBufferWriter<byte> _buffer = new(256);

        public void Send(int n)
        {
            // As a send between VMs: attributes read into a packet, written to a reused buffer, copied out.
            var packet = Packet.From(new { tag = "d", n }, self, peer);
            _buffer.ResetWrittenCount();
            _serializer.WritePacket(_buffer, packet);
            output.TryWrite(_buffer.WrittenSpan.ToArray());
        }

        public int Recv() => _serializer.ReadPacket(input.Read()).Get<int>("n");
    }
}

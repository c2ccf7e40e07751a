using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using River.Tests.Cluster;

namespace River.Tests.Transport;

/// <summary>
/// Big values (a <c>byte[]</c>, <c>double[]</c>, ... of 64 KiB or more, last in their packet) between two VMs over TCP:
/// the sender's array is copied once at <c>Send</c> (into the link's kept buffer), the receiver reads the bytes into
/// an array of the value's type, and arrays a receiver recycles carry later values of their type and length.
/// </summary>
public sealed class BigValueTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task An_array_refilled_right_after_each_Send_arrives_each_time_as_it_was_at_Send()
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        await using var a = await RiverVm.JoinAsync(TcpClusterTests.Options(name));
        await using var b = await RiverVm.JoinAsync(TcpClusterTests.Options(name, a));
        const int Count = 24, Length = (1 << 20) + 3;
        var bad = new List<int>();
        await Probe.Run(a, me =>
        {
            var sink = me.Deploy<Probe>(me.Discover(wait: Bound).Single(v => v.Id == b.Id), Probe.Register(s =>
            {
                for (var i = 0; i < Count; i++)
                {
                    var p = s.Recv(new { tag = "v" }, Bound);
                    var data = p.Get<byte[]>("data");
                    if (p.Get<int>("n") != i || data.Length != Length || data.Any(x => x != (byte)i)) bad.Add(i);
                    p.Recycle(); // the next values may arrive in this array
                }
                s.Send(s.Parent!.Value, new { tag = "done" });
            }));
            var data = new byte[Length];
            for (var i = 0; i < Count; i++)
            {
                Array.Fill(data, (byte)i);
                me.Send(sink, new { tag = "v", n = i, data });
                Array.Fill(data, (byte)0xFF); // at once, while the link may still be writing earlier values
                if (i % 5 == 0) me.Send(sink, new { tag = "small", n = i }); // small frames queued between big ones
            }
            me.Recv(new { tag = "done" }, Bound);
        }).WaitAsync(Bound);
        Assert.Empty(bad);
    }

    [Fact]
    public async Task A_recycled_array_carries_the_next_value_of_its_length_and_one_kept_is_never_reused()
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        await using var a = await RiverVm.JoinAsync(TcpClusterTests.Options(name));
        await using var b = await RiverVm.JoinAsync(TcpClusterTests.Options(name, a));
        const int Length = 1_234_567; // a length no other test recycles: the arrays kept are shared by the process
        byte[]? first = null, second = null, third = null;
        byte[]? firstCopy = null;
        await Probe.Run(a, me =>
        {
            var sink = me.Deploy<Probe>(me.Discover(wait: Bound).Single(v => v.Id == b.Id), Probe.Register(s =>
            {
                var p = s.Recv(new { tag = "v" }, Bound);
                first = p.Get<byte[]>("data");
                firstCopy = (byte[])first.Clone();
                p.Recycle();
                p.Recycle(); // a second time does nothing
                s.Send(s.Parent!.Value, new { tag = "next" });
                second = s.Recv(new { tag = "v" }, Bound).Get<byte[]>("data"); // kept: never recycled
                s.Send(s.Parent!.Value, new { tag = "next" });
                third = s.Recv(new { tag = "v" }, Bound).Get<byte[]>("data");
                s.Send(s.Parent!.Value, new { tag = "done" });
            }));
            for (var i = 1; i <= 3; i++)
            {
                me.Send(sink, new { tag = "v", data = Enumerable.Repeat((byte)i, Length).ToArray() });
                me.Recv(new { tag = i < 3 ? "next" : "done" }, Bound);
            }
        }).WaitAsync(Bound);
        Assert.Same(first, second);
        Assert.NotSame(second, third);
        Assert.All(firstCopy!, x => Assert.Equal(1, x));
        Assert.All(second!, x => Assert.Equal(2, x));
        Assert.All(third!, x => Assert.Equal(3, x));
    }

    [Fact]
    public async Task Arrays_of_every_number_type_arrive_as_sent_and_a_recycled_one_carries_only_the_next_of_its_type_and_length()
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        await using var a = await RiverVm.JoinAsync(TcpClusterTests.Options(name));
        await using var b = await RiverVm.JoinAsync(TcpClusterTests.Options(name, a));
        // Odd counts just over the split size, and 1 MiB and more; each filled with any bit pattern (compared as bytes).
        Array[] sent =
        [
            .. new[] { typeof(double), typeof(float), typeof(long), typeof(ulong), typeof(int), typeof(uint), typeof(short), typeof(ushort), typeof(char), typeof(sbyte) }
                .Select((t, i) => Filled(t, (PeerLink.SplitSize + 1021 * (i + 1)) / Buffer.ByteLength(Array.CreateInstance(t, 1)) | 1, i)),
            Filled(typeof(double), (1 << 17) + 3, 20),
        ];
        // Lengths no other test recycles (the arrays kept are shared by the process): a long[] as long as the double[] in bytes.
        const int Recycled = 163_841;
        var bad = new ConcurrentQueue<string>();
        Array? first = null, other = null, second = null;
        await Probe.Run(a, me =>
        {
            var sink = me.Deploy<Probe>(me.Discover(wait: Bound).Single(v => v.Id == b.Id), Probe.Register(s =>
            {
                for (var i = 0; i < sent.Length; i++)
                {
                    var p = s.Recv(new { tag = "v", n = i }, Bound);
                    var data = p.Get<Array>("data");
                    if (data.GetType() != sent[i].GetType() || !RiverSerializer.BytesOf(data).SequenceEqual(RiverSerializer.BytesOf(sent[i])))
                        bad.Enqueue($"{i}: {data.GetType().Name} of {data.Length}");
                }
                var r = s.Recv(new { tag = "r" }, Bound);
                first = r.Get<double[]>("data");
                r.Recycle();
                s.Send(s.Parent!.Value, new { tag = "next" });
                other = s.Recv(new { tag = "r" }, Bound).Get<long[]>("data");
                second = s.Recv(new { tag = "r" }, Bound).Get<double[]>("data");
                s.Send(s.Parent!.Value, new { tag = "done" });
            }));
            for (var i = 0; i < sent.Length; i++) me.Send(sink, new { tag = "v", n = i, data = sent[i] });
            me.Send(sink, new { tag = "r", data = new double[Recycled] });
            me.Recv(new { tag = "next" }, Bound);
            me.Send(sink, new { tag = "r", data = new long[Recycled] });
            me.Send(sink, new { tag = "r", data = new double[Recycled] });
            me.Recv(new { tag = "done" }, Bound);
        }).WaitAsync(Bound);
        Assert.Empty(bad);
        Assert.Same(first, second);
        Assert.NotSame(first, other);
        Assert.Equal(Recycled, other!.Length);
    }

    [Fact]
    public async Task A_big_frame_whose_array_is_ragged_or_of_no_known_type_is_dropped_with_its_reason_and_big_values_still_flow()
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        var lines = new LogLines();
        using var logging = new LoggerFactory([lines]);
        await using var a = await RiverVm.JoinAsync(TcpClusterTests.Options(name));
        await using var b = await RiverVm.JoinAsync(TcpClusterTests.Options(name, a), new RiverVmOptions { LoggerFactory = logging });

        // A packet frame ending in a double[] of 10,000 elements; its header then rewritten to lie.
        var buffer = new ArrayBufferWriter<byte>();
        buffer.Write([Frames.PacketKind]);
        var serializer = new RiverSerializer();
        serializer.WritePacket(buffer, Packet.From(new { tag = "v", data = new double[10_000] }, VrId.New(), VrId.New()));
        byte[] Frame(byte code, int length)
        {
            var head = buffer.WrittenSpan[..^80_000];
            var frame = (byte[])[.. head, .. new byte[length]];
            frame[head.Length - 6] = code; // the type code, then bin32: 0xc6 and a big-endian length
            BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(head.Length - 4), length);
            return WireClient.Framed(frame);
        }
        var doubleCode = buffer.WrittenSpan[^80_006];
        foreach (var frame in new[] { Frame(doubleCode, 80_001), Frame(32, 80_000) })
        {
            using var client = await WireClient.ConnectAsync(b.Info.Port, default);
            client.Authenticate(TcpClusterTests.Options(name));
            await client.SendAsync(frame, default);
            Assert.True(await client.FinishAsync(TimeSpan.FromSeconds(7)), "the VM left the connection open");
        }
        Assert.Contains(lines.All, l => l.Contains("Dropped a frame", StringComparison.Ordinal) && l.Contains("A Double[] of 80001 bytes is not a whole number of elements.", StringComparison.Ordinal));
        Assert.Contains(lines.All, l => l.Contains("Dropped a frame", StringComparison.Ordinal) && l.Contains("Unknown value type code 32.", StringComparison.Ordinal));

        var data = Filled(typeof(double), 100_001, 7);
        double[]? got = null;
        await Probe.Run(a, me =>
        {
            var sink = me.Deploy<Probe>(me.Discover(wait: Bound).Single(v => v.Id == b.Id), Probe.Register(s =>
            {
                got = s.Recv(new { tag = "v" }, Bound).Get<double[]>("data");
                s.Send(s.Parent!.Value, new { tag = "done" });
            }));
            me.Send(sink, new { tag = "v", data });
            me.Recv(new { tag = "done" }, Bound);
        }).WaitAsync(Bound);
        Assert.Equal(RiverSerializer.BytesOf(data).ToArray(), RiverSerializer.BytesOf(got!).ToArray());
    }

    private static Array Filled(Type element, int count, int seed)
    {
        var array = Array.CreateInstance(element, count);
        new Random(seed).NextBytes(RiverSerializer.BytesOf(array));
        return array;
    }

    /// <summary>Every line a VM logs.</summary>
    private sealed class LogLines : ILoggerProvider, ILogger
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyCollection<string> All => _lines;

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _lines.Enqueue(formatter(state, exception));

        public void Dispose()
        {
        }
    }
}

using System.Security.Cryptography;

namespace River.Tests.Transport;

/// <summary>The record layer on its own: what is written comes out whole and in order, whatever the reads; anything altered is refused.</summary>
public sealed class RecordStreamTests
{
    private static readonly byte[] Key1 = RandomNumberGenerator.GetBytes(RecordStream.KeySize), Key2 = RandomNumberGenerator.GetBytes(RecordStream.KeySize);

    /// <summary>Sealed bytes of <paramref name="writes"/>, written one write each, from spans and (sealed in place) from arrays in turn.</summary>
    private static byte[] Seal(IEnumerable<byte[]> writes)
    {
        var wire = new MemoryStream();
        using var sender = new RecordStream(new KeepOpen(wire), Key1, Key2);
        var fromArray = false;
        foreach (var w in writes)
        {
            if (fromArray) sender.Write(w, 0, w.Length);
            else sender.Write(w);
            fromArray = !fromArray;
        }
        return wire.ToArray();
    }

    private static RecordStream Receiver(byte[] wire) => new(new MemoryStream(wire), Key2, Key1);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Bytes_come_out_as_written_whatever_the_sizes_of_writes_and_reads(int seed)
    {
        var random = new Random(seed);
        var writes = Enumerable.Range(0, 200).Select(_ => RandomNumberGenerator.GetBytes(random.Next(3) switch
        {
            0 => random.Next(1, 100),
            1 => random.Next(100, 40_000),
            _ => random.Next(40_000, 3 * RecordStream.MaxPayload),
        })).ToList();
        var expected = writes.SelectMany(w => w).ToArray();
        using var receiver = Receiver(Seal(writes));
        var got = new MemoryStream();
        var buffer = new byte[4 * RecordStream.MaxPayload];
        int n;
        while ((n = receiver.Read(buffer.AsSpan(0, random.Next(1, buffer.Length)))) > 0) got.Write(buffer, 0, n);
        Assert.Equal(expected.Length, got.Length);
        Assert.True(expected.AsSpan().SequenceEqual(got.ToArray()), "the bytes differ");
    }

    [Fact]
    public async Task Another_thread_may_look_at_HasReadable_while_the_reader_reads()
    {
        // A VR's thread asks whether a record waits before it takes the read; the buffer it looks at moves under it.
        var random = new Random(7);
        var writes = Enumerable.Range(0, 3000).Select(_ => RandomNumberGenerator.GetBytes(random.Next(1, 3000))).ToList();
        using var receiver = Receiver(Seal(writes));
        using var done = new CancellationTokenSource();
        var looking = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var looker = Task.Run(() =>
        {
            looking.SetResult();
            while (!done.IsCancellationRequested) _ = receiver.HasReadable;
        });
        await looking.Task;
        var buffer = new byte[5000];
        long total = 0;
        int n;
        while ((n = receiver.Read(buffer.AsSpan(0, random.Next(1, buffer.Length)))) > 0) total += n;
        done.Cancel();
        await looker.WaitAsync(TimeSpan.FromSeconds(30)); // throws what the looking thread met
        Assert.Equal(writes.Sum(w => (long)w.Length), total);
    }

    [Fact]
    public void A_flipped_bit_anywhere_is_refused_before_any_byte_of_its_record_is_handed_out()
    {
        var wire = Seal([RandomNumberGenerator.GetBytes(1000)]);
        for (var i = 4; i < wire.Length; i += 97)
        {
            var altered = (byte[])wire.Clone();
            altered[i] ^= 0x10;
            using var receiver = Receiver(altered);
            Assert.Throws<RecordAuthenticationException>(() => receiver.Read(new byte[2000]));
        }
    }

    [Fact]
    public void Records_replayed_or_swapped_are_refused()
    {
        var one = Seal([[1, 2, 3], [4, 5, 6]]);
        var record = RecordStream.HeaderSize + 3 + RecordStream.TagSize;
        byte[] replayed = [.. one[..record], .. one[..record]];
        byte[] swapped = [.. one[record..], .. one[..record]];
        foreach (var wire in new[] { replayed, swapped })
        {
            using var receiver = Receiver(wire);
            var buffer = new byte[3];
            if (wire == replayed) Assert.Equal(3, receiver.Read(buffer)); // the first copy is genuine
            Assert.Throws<RecordAuthenticationException>(() => receiver.Read(buffer));
        }
    }

    [Fact]
    public void A_length_outside_the_limits_is_refused_before_anything_is_buffered()
    {
        using var receiver = Receiver([.. BitConverter.GetBytes(RecordStream.MaxPayload + 1), 0, 0]);
        Assert.Throws<RecordAuthenticationException>(() => receiver.Read(new byte[16]));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // the bytes from the cut on are copied in from a tail as they are sealed (a big value on an idle link)
    public async Task Big_writes_gathered_onto_a_socket_arrive_whole_and_in_order(bool fromTail)
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        using var client = new System.Net.Sockets.TcpClient();
        client.Connect((System.Net.IPEndPoint)listener.LocalEndpoint);
        using var accepted = listener.AcceptTcpClient();
        using var sender = new RecordStream(new KeepOpen(client.GetStream()), Key1, Key2, client.Client);
        using var receiver = new RecordStream(accepted.GetStream(), Key2, Key1);
        var writes = new[] { 3 * RecordStream.MaxPayload + 17, 40_000, 5 }.Select(RandomNumberGenerator.GetBytes).ToList();
        // The reader drains the socket meanwhile: a gathered send bigger than the socket's buffers waits until it is read.
        var reading = Task.Run(() =>
        {
            var got = new byte[writes.Sum(w => w.Length)];
            receiver.ReadExactly(got);
            return got;
        });
        foreach (var w in writes)
        {
            var cut = w.Length / 3; // a record ends where a big value would start
            byte[] kept = fromTail ? [.. w.AsSpan(0, cut), .. new byte[w.Length - cut]] : w;
            var filled = 0;
            sender.Write(kept, 0, w.Length, cut, fromTail ? w.AsSpan(cut) : [], () => filled++);
            Assert.Equal(1, filled);
            Assert.Equal(w, kept); // the kept copy is whole, to be written again after a reconnect
        }
        Assert.Equal(writes.SelectMany(w => w).ToArray(), await reading.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    /// <summary>The sender disposes its stream; the test still reads what was written.</summary>
    private sealed class KeepOpen(Stream inner) : BlockingStream(inner)
    {
        protected override void Dispose(bool disposing)
        {
        }
    }
}

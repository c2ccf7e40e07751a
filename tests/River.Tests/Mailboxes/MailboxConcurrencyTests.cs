namespace River.Tests.Mailboxes;

/// <summary>Senders on several threads against one parking receiver: nothing lost, nothing taken twice, no receiver left asleep.</summary>
public class MailboxConcurrencyTests
{
    private const int Senders = 4, PerSender = 20_000;

    private static Task[] StartSenders(Mailbox box) =>
    [
        .. Enumerable.Range(0, Senders).Select(s => Task.Factory.StartNew(() =>
        {
            var src = VrId.New();
            for (var i = 0; i < PerSender; i++) box.Post(Packet.From(new { tag = i % 2 == 0 ? "even" : "odd", s, i }, src));
        }, TaskCreationOptions.LongRunning)),
    ];

    [Fact]
    public async Task A_thread_receiver_taking_by_tag_gets_every_packet_once_in_per_sender_order()
    {
        var box = new Mailbox();
        var waiter = new ThreadWaiter();
        var senders = StartSenders(box);
        var last = new int[Senders, 2];
        for (var s = 0; s < Senders; s++) last[s, 0] = last[s, 1] = -1;
        var receiver = Task.Factory.StartNew(() =>
        {
            var even = Matcher.From(new { tag = "even" });
            var odd = Matcher.From(new { tag = "odd" });
            for (var n = 0; n < Senders * PerSender; n++)
            {
                // Alternate: half the time the wanted kind is not the next to arrive, so the receiver parks on a selective match.
                var p = waiter.Receive(box, n % 2 == 0 ? even : odd, TimeSpan.FromSeconds(20), TimeSpan.FromMicroseconds(5));
                var (s, i) = (p.Get<int>("s"), p.Get<int>("i"));
                Assert.True(i > last[s, i % 2], $"sender {s} packet {i} out of order");
                last[s, i % 2] = i;
            }
        }, TaskCreationOptions.LongRunning);
        await Task.WhenAll([.. senders, receiver]).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(0, box.Count);
    }

    /// <summary>
    /// A sender that found the receiver parked may be preempted between taking the park and waking it, so its wake can
    /// land in the receiver's next receive. That receive must park again, not fail as if a second receive were waiting
    /// (it did: a bench's far-end VR died in a 64 B stream and its sender waited for ever).
    /// </summary>
    [Fact]
    public async Task A_late_wake_from_an_earlier_receive_does_not_fail_the_next_one()
    {
        var box = new Mailbox();
        var waiter = new ThreadWaiter();
        var receiver = Task.Factory.StartNew(
            () => waiter.Receive(box, Matcher.From(new { tag = "wanted" }), TimeSpan.FromSeconds(30), TimeSpan.Zero), TaskCreationOptions.LongRunning);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!box.ReceiverParked && DateTime.UtcNow < deadline) await Task.Delay(5);
        Assert.True(box.ReceiverParked, "the receiver never parked");
        waiter.Wake(); // the late wake: no packet comes with it
        await Task.Delay(50);
        Assert.False(receiver.IsCompleted, receiver.Exception?.InnerException?.Message ?? "the receive returned without a packet");
        box.Post(Packet.From(new { tag = "wanted", n = 7 }, VrId.New()));
        var p = await receiver.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(7, p.Get<int>("n"));
    }

    /// <summary>
    /// Senders wait on a full bounded queue and its receiver's takes wake them. A take does not fence (a waiter fences every
    /// thread instead), so a wake missed by that handshake would leave a sender waiting out its timeout: QueueFullException.
    /// </summary>
    [Fact]
    public async Task Senders_waiting_on_a_full_bounded_queue_are_woken_by_its_takes()
    {
        var box = new Mailbox(VrId.New(), new QueueLimit(1L << 30, 16));
        var waiter = new ThreadWaiter();
        var senders = Enumerable.Range(0, Senders).Select(s => Task.Factory.StartNew(() =>
        {
            var src = VrId.New();
            for (var i = 0; i < PerSender; i++)
            {
                box.Wait(TimeSpan.FromSeconds(10)); // returns at once while there is room
                var packet = Packet.From(new { tag = "d", s, i }, src);
                packet.QueueCost = 100;
                box.Post(packet);
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        var receiver = Task.Factory.StartNew(() =>
        {
            var all = Matcher.From(new { tag = "d" });
            var next = new int[Senders];
            for (var n = 0; n < Senders * PerSender; n++)
            {
                // No poll before parking: the receiver parks as often as it can, so takes and waits interleave every way.
                var p = waiter.Receive(box, all, TimeSpan.FromSeconds(20), TimeSpan.Zero);
                Assert.Equal(next[p.Get<int>("s")]++, p.Get<int>("i"));
            }
        }, TaskCreationOptions.LongRunning);
        await Task.WhenAll([.. senders, receiver]).WaitAsync(TimeSpan.FromSeconds(90));
        Assert.Equal(0, box.Count);
    }

    [Fact]
    public async Task An_async_receiver_gets_every_packet_once()
    {
        var box = new AsyncMailbox();
        var senders = StartSenders(box);
        var seen = new HashSet<(int, int)>();
        var even = Matcher.From(new { tag = "even" });
        var odd = Matcher.From(new { tag = "odd" });
        for (var n = 0; n < Senders * PerSender; n++)
        {
            var p = await box.ReceiveAsync(n % 2 == 0 ? even : odd, TimeSpan.FromSeconds(20), default).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(seen.Add((p.Get<int>("s"), p.Get<int>("i"))));
        }
        await Task.WhenAll(senders).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(Senders * PerSender, seen.Count);
        Assert.Equal(0, box.Count);
    }
}

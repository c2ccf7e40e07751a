namespace River.Tests.Mailboxes;

/// <summary>The poll before a thread VR parks follows its traffic: longer after parks a longer poll would have spared, back to the base after long waits.</summary>
public class ThreadWaiterSpinTests
{
    private static readonly TimeSpan Spin = TimeSpan.FromMicroseconds(50);

    [Fact]
    public void Short_parks_grow_the_poll_up_to_its_cap_and_long_parks_bring_it_back_to_the_base()
    {
        var waiter = new ThreadWaiter();
        Assert.Equal(1, waiter.SpinScale);
        waiter.Adapt(TimeSpan.FromMicroseconds(120), Spin);
        Assert.Equal(2, waiter.SpinScale);
        for (var i = 0; i < 10; i++) waiter.Adapt(TimeSpan.FromMicroseconds(120), Spin);
        Assert.Equal(ThreadWaiter.MaxSpinScale, waiter.SpinScale);
        waiter.Adapt(TimeSpan.FromMilliseconds(5), Spin);
        Assert.Equal(ThreadWaiter.MaxSpinScale / 2, waiter.SpinScale);
        for (var i = 0; i < 10; i++) waiter.Adapt(TimeSpan.FromMilliseconds(5), Spin);
        Assert.Equal(1, waiter.SpinScale);
    }

    [Fact]
    public async Task A_receiver_whose_packets_come_long_after_it_parks_goes_back_to_the_base_poll()
    {
        var box = new Mailbox();
        var waiter = new ThreadWaiter();
        for (var i = 0; i < 3; i++) waiter.Adapt(TimeSpan.FromMicroseconds(120), Spin);
        Assert.Equal(ThreadWaiter.MaxSpinScale, waiter.SpinScale); // from the longest poll: the parks below must bring it down
        var receiver = Task.Factory.StartNew(() =>
        {
            for (var i = 0; i < 5; i++) waiter.Receive(box, Matcher.From(new { n = i }), TimeSpan.FromSeconds(20), Spin);
        }, TaskCreationOptions.LongRunning);
        for (var i = 0; i < 5; i++)
        {
            // Each packet comes only once its receive has parked, and then far past the longest poll (400 µs): every receive
            // parks long. A fixed delay alone let a receiver that started late find its packets queued and never park.
            await Condition.Until(() => box.ReceiverParked, TimeSpan.FromSeconds(20), $"receive {i} to park");
            await Task.Delay(5);
            box.Post(Packet.From(new { n = i }, VrId.New()));
        }
        await receiver.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, waiter.SpinScale);
    }

    [Fact]
    public void A_receive_that_times_out_shrinks_the_poll_even_when_its_timeout_is_shorter_than_the_poll()
    {
        var waiter = new ThreadWaiter();
        for (var i = 0; i < 3; i++) waiter.Adapt(TimeSpan.FromMicroseconds(120), Spin);
        Assert.Equal(ThreadWaiter.MaxSpinScale, waiter.SpinScale);
        var box = new Mailbox();
        // A VR that polls for work with short timeouts must not keep spinning the longest poll between them.
        Assert.Throws<TimeoutException>(() => waiter.Receive(box, Matcher.From(new { n = 1 }), TimeSpan.FromMicroseconds(100), Spin));
        Assert.Equal(ThreadWaiter.MaxSpinScale / 2, waiter.SpinScale);
        Assert.Throws<TimeoutException>(() => waiter.Receive(box, Matcher.From(new { n = 1 }), TimeSpan.FromMilliseconds(2), Spin));
        Assert.Equal(ThreadWaiter.MaxSpinScale / 4, waiter.SpinScale);
    }
}

namespace River.Tests.Flow;

/// <summary>A send window keeps bytes and packets in one number: each must read back exactly, past zero and back.</summary>
public sealed class SendWindowTests
{
    private sealed class NoPeer : IPeer
    {
        public VmId RemoteId { get; } = new(Guid.NewGuid());

        public bool Send(ReadOnlySpan<byte> frame, bool corkable = false) => true;

        public bool Send(ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail, bool corkable = false) => true;
    }

    [Fact]
    public void The_last_packet_of_the_window_closes_it_and_one_packet_of_credit_opens_it()
    {
        var window = new SendWindow(VrId.New(), new NoPeer());
        for (var i = 0; i < FlowControl.WindowPackets - 1; i++) window.Charge(1);
        Assert.False(window.Blocked);
        window.Charge(1);
        Assert.True(window.Blocked);
        window.Grant(0, 1);
        Assert.False(window.Blocked);
    }

    [Fact]
    public void A_frame_bigger_than_the_window_closes_it_until_its_bytes_come_back()
    {
        var window = new SendWindow(VrId.New(), new NoPeer());
        window.Charge(1 << 30);
        window.Charge(1 << 30);
        Assert.True(window.Blocked);
        window.Grant(1L << 30, 1);
        Assert.True(window.Blocked);
        window.Grant(1L << 30, 1);
        Assert.False(window.Blocked);
        window.Charge((int)FlowControl.WindowBytes);
        Assert.True(window.Blocked);
    }

    [Fact]
    public void Packets_far_below_zero_from_senders_that_do_not_wait_read_back_once_their_credit_returns()
    {
        var window = new SendWindow(VrId.New(), new NoPeer());
        const int Sent = (1 << 24) + 100; // packets past what the low bits hold
        for (var i = 0; i < Sent; i++) window.Charge(1);
        Assert.True(window.Blocked);
        window.Grant(Sent, Sent);
        for (var i = 0; i < FlowControl.WindowPackets - 1; i++) window.Charge(1);
        Assert.False(window.Blocked);
        window.Charge(1);
        Assert.True(window.Blocked);
    }
}

namespace River;

/// <summary>
/// The protocol's flow-control constants. Every VM starts each (sending VM, receiving VR) pair with
/// this window; the receiving VM gives credit back as its VR takes packets out of its queue.
/// </summary>
internal static class FlowControl
{
    /// <summary>Bytes of frames a VM may have in flight or queued at one remote VR before it waits for credit.</summary>
    public const long WindowBytes = 8L << 20;

    /// <summary>Packets a VM may have in flight or queued at one remote VR before it waits for credit.</summary>
    public const long WindowPackets = 8192;

    // Big enough that 1 MiB values and 1,000 requests in flight keep streaming while credit returns every half window.

    // Bytes and packets in one number, bytes × 2^PacketBits + packets, so counting a frame is one locked add, not two.
    // Each reads back exactly while packets lie within ±2^23 (a window holds 8,192; a sender that does not wait may go
    // below, and then bytes are long gone too) and bytes within ±2^39 (SendWindow.MaxCredit bounds what a peer may give back).
    private const int PacketBits = 24;

    /// <summary><paramref name="bytes"/> and <paramref name="packets"/> as one number for <see cref="Interlocked.Add(ref long, long)"/>.</summary>
    public static long Pack(long bytes, long packets) => (bytes << PacketBits) + packets;

    /// <summary>The packets of a <see cref="Pack"/>ed number (its low bits, sign extended).</summary>
    public static long PacketsOf(long packed) => packed << (64 - PacketBits) >> (64 - PacketBits);

    /// <summary>The bytes of a <see cref="Pack"/>ed number.</summary>
    public static long BytesOf(long packed) => (packed - PacketsOf(packed)) >> PacketBits;

    /// <summary>True once this much taken (<see cref="Pack"/>ed) is worth a <see cref="Credit"/> message.</summary>
    public static bool IsHalfWindow(long packed) => BytesOf(packed) >= WindowBytes / 2 || PacketsOf(packed) >= WindowPackets / 2;

    /// <summary>
    /// What a local packet counts against its receiver's queue limit: a cheap estimate of the memory it
    /// holds (serializing it to measure would cost more than the copy it gets).
    /// </summary>
    public static int LocalCost(Packet packet)
    {
        var n = 64 + 16L * packet.AttributeNames.Length;
        foreach (var value in packet.AttributeValues)
            n += value switch
            {
                string s => 24 + 2L * s.Length,
                byte[] b => 24 + b.Length,
                Array a => 24 + 8L * a.Length,
                System.Collections.ICollection c => 32 + 16L * c.Count,
                _ => 0,
            };
        return (int)Math.Min(n, int.MaxValue);
    }
}

/// <summary>
/// The sending side of one (this VM → remote VR) pair: what may still be sent before credit comes back.
/// A send is let through while any credit is left and then charged its frame's size, so a value bigger
/// than the window still goes (the window goes negative and that much credit must come back first).
/// Released for good when the VR ended or its VM left: nobody waits for a VR that will never read.
/// </summary>
internal sealed class SendWindow(VrId dest, IPeer peer) : FlowGate
{
    // Bytes and packets left, packed (FlowControl.Pack): a send is charged with one locked add.
    private long _left = FlowControl.Pack(FlowControl.WindowBytes, FlowControl.WindowPackets);
    private volatile bool _released;

    /// <summary>More bytes or packets than a <see cref="Credit"/> can honestly return (the window and every frame charged past it).</summary>
    public const long MaxCredit = 1L << 37;

    public IPeer Peer { get; } = peer;

    protected override VrId Guarded => dest;

    public override bool Blocked
    {
        get
        {
            if (_released) return false;
            var left = Volatile.Read(ref _left);
            return FlowControl.PacketsOf(left) <= 0 || FlowControl.BytesOf(left) <= 0;
        }
    }

    public void Charge(int frameBytes) => Interlocked.Add(ref _left, -FlowControl.Pack(frameBytes, 1));

    public void Grant(long bytes, long packets)
    {
        Interlocked.Add(ref _left, FlowControl.Pack(bytes, packets));
        Wake();
    }

    public void Release()
    {
        _released = true;
        Wake();
    }
}

/// <summary>
/// The receiving side of one (remote VM → this VR) pair: what the VR took out of its queue since credit
/// was last sent back. Credit goes back once half a window was taken, unless the queue is over its own
/// limit: then it is held (<see cref="Mailbox"/> returns it once the queue is below the limit again),
/// so a VR's limit binds remote senders as well as local ones.
/// </summary>
internal sealed class CreditLedger(RiverVm vm, IPeer from, VrId vr)
{
    private long _taken; // bytes and packets, packed (FlowControl.Pack); the sender's window bounds both

    public IPeer From => from;

    /// <summary>Counts a packet of <paramref name="cost"/> bytes taken (or, for an unbounded queue, queued).</summary>
    public void Taken(int cost, Mailbox queue) => TakenBatch(FlowControl.Pack(cost, 1), queue);

    /// <summary>Counts packets taken: <paramref name="packed"/> is their bytes and number (<see cref="FlowControl.Pack"/>).</summary>
    public void TakenBatch(long packed, Mailbox queue)
    {
        var taken = Interlocked.Add(ref _taken, packed);
        if (!FlowControl.IsHalfWindow(taken)) return;
        if (queue.Blocked) queue.HoldCredit(this);
        else Return();
    }

    /// <summary>True when <paramref name="packed"/> more taken would bring what is counted to half a window (see <see cref="TakenBatch"/>).</summary>
    public bool HalfWindowWith(long packed) => FlowControl.IsHalfWindow(Volatile.Read(ref _taken) + packed);

    /// <summary>Sends back all credit counted so far.</summary>
    public void Return()
    {
        var taken = Interlocked.Exchange(ref _taken, 0);
        var (bytes, packets) = (FlowControl.BytesOf(taken), FlowControl.PacketsOf(taken));
        if (bytes > 0 || packets > 0) from.Send(Frames.Control(vm.Serializer, new Credit(vr, bytes, packets)));
    }
}

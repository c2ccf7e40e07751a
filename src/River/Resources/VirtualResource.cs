namespace River;

/// <summary>A virtual resource with a thread of its own and blocking, selective <see cref="Recv(object?, TimeSpan?)"/>.</summary>
/// <example><code>
/// public sealed class Echo : VirtualResource
/// {
///     protected override void Main()
///     {
///         var p = Recv(new { tag = "ping" });
///         Send(p.Src, new { tag = "pong", n = p.Get&lt;int&gt;("n") });
///     }
/// }
/// </code></example>
public abstract class VirtualResource : VirtualResourceBase
{
    private readonly ThreadWaiter _waiter = new();

    /// <summary>How long <c>Recv</c> polls for a packet before parking the thread (waking a parked thread costs tens of µs).</summary>
    public static TimeSpan SpinTime { get; set; } = TimeSpan.FromMicroseconds(50);

    /// <summary>The VR's body, on its own thread; the VR ends when it returns or throws.</summary>
    protected abstract void Main();

    internal void Run() => Main();

    /// <summary>
    /// Marks a consistent point of this VR: its fields (every instance field of its classes below River's,
    /// <c>[NonSerialized]</c> ones skipped) and the packets queued for it or on their way to it become part of
    /// the run's next coordinated checkpoint. Returns at once, saving nothing, unless the program runs with
    /// <c>--checkpoint-dir</c>. Keep the VR's state in fields and call it where <c>Main</c> can resume from them.
    /// </summary>
    /// <example><code>
    /// for (; step &lt; steps; step++)
    /// {
    ///     if (step % 100 == 0) Checkpoint();
    ///     cells = Step(cells);
    /// }
    /// </code></example>
    /// <exception cref="UnsupportedValueException">a field holds a value the serializer cannot carry (names the field).</exception>
    protected void Checkpoint() => Context.Vm.Checkpoints.Checkpoint(Context);

    /// <summary>Blocks until a matching packet is queued, removes and returns the oldest.</summary>
    /// <param name="match">an anonymous object or dictionary of attribute values or <see cref="Match"/> conditions; <c>null</c> matches any packet.</param>
    /// <param name="timeout">give up after this long with a <see cref="TimeoutException"/>.</param>
    public Packet Recv(object? match = null, TimeSpan? timeout = null) => Receive(Matcher.From(match), timeout);

    /// <summary>Blocks until a packet satisfying <paramref name="where"/> is queued, removes and returns the oldest.</summary>
    public Packet Recv(Func<Packet, bool> where, TimeSpan? timeout = null) => Receive(Matcher.From(where), timeout);

    /// <summary>
    /// Like <see cref="Recv(object?, TimeSpan?)"/>, for big values received into one buffer: while it waits, the next big
    /// value to arrive from another VM (a packet's last attribute, an array of numbers of <paramref name="buffer"/>'s type
    /// and length) may be read from the network straight into <paramref name="buffer"/>. When the packet returned holds
    /// <paramref name="buffer"/> itself, its value is there and nothing needs copying; otherwise (it was queued already,
    /// came another way, or has another size) the value is in an array of its own, to copy in. Either way
    /// <paramref name="buffer"/> is the caller's again once this returns, its contents meaningful only in the first case.
    /// A packet that holds <paramref name="buffer"/> is not recycled (<see cref="Packet.Recycle"/> does nothing).
    /// </summary>
    /// <example><code>
    /// var p = RecvInto(new { tag = "block" }, block);
    /// if (p.Get&lt;double[]&gt;("data") is var data &amp;&amp; data != block) data.CopyTo(block, 0);
    /// </code></example>
    public Packet RecvInto(object? match, Array? buffer, TimeSpan? timeout = null)
    {
        var matcher = Matcher.From(match);
        var box = Context.Checked.Mailbox;
        // A replica takes what its primary took, and the runtime hooks (checkpointing) may hold packets: no offers there.
        if (buffer is null || Context.Replica is not null || Context.Vm.Hooks is not null) return Receive(matcher, timeout);
        if (box.TryTake(matcher, out var queued)) return queued;
        var offer = new ArrayOffer(buffer);
        box.Offer = offer;
        Packet? received = null;
        try
        {
            received = Receive(matcher, timeout);
            if (received.AttributeValues is [.., var last] && ReferenceEquals(last, buffer)) received.Recyclable = false;
            return received;
        }
        finally
        {
            box.Offer = null;
            offer.Withdraw(received);
        }
    }

    private Packet Receive(Matcher match, TimeSpan? timeout)
    {
        var box = Context.Checked.Mailbox;
        // A mirror replica's timed receive takes what the primary's took, or times out where it did.
        if (timeout is null || Context.Replica is not { } replica) return _waiter.Receive(box, match, timeout, SpinTime);
        return replica.Decide(box, take: true, () =>
        {
            try
            {
                return _waiter.Receive(box, match, timeout, SpinTime);
            }
            catch (TimeoutException)
            {
                return null;
            }
        }) ?? throw new TimeoutException($"No matching packet arrived within {timeout}.");
    }
}

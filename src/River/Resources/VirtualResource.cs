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

    /// <summary>
    /// How long <c>Recv</c> polls for a packet before parking the thread (waking a parked thread costs tens of µs), at
    /// the least: a VR whose packets come soon after it parks polls up to 8 times this long, and back down to this after
    /// long waits and timeouts.
    /// </summary>
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

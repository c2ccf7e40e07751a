namespace River;

/// <summary>
/// A <c>Send</c> waited longer than the send timeout for room in its receiver's queue (or, across VMs,
/// for credit from it). Either the receiver is far slower than its senders, or VRs wait for each other
/// in a cycle of full queues; see docs/FAULT-TOLERANCE.md, "Flow control".
/// </summary>
/// <example><code>
/// try { Send(peer, new { tag = "data", n }); }
/// catch (QueueFullException e) { Console.Error.WriteLine($"{e.Destination} is not reading: {e.Message}"); }
/// </code></example>
public sealed class QueueFullException : TimeoutException
{
    /// <summary>Says that <paramref name="destination"/>'s queue stayed full for <paramref name="waited"/>.</summary>
    public QueueFullException(VrId destination, TimeSpan waited, string? detail = null)
        : base($"Send to VR {destination} gave up: its queue has been full for {waited.TotalSeconds:0.###} s"
            + (detail is null ? " (it reads far slower than it is sent to, or VRs wait for each other in a cycle of full queues)." : $" ({detail})."))
        => (Destination, Waited) = (destination, waited);

    /// <summary>The VR whose queue was full.</summary>
    public VrId Destination { get; }

    /// <summary>How long the <c>Send</c> waited.</summary>
    public TimeSpan Waited { get; }
}

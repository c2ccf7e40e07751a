namespace River;

/// <summary>
/// How much a VR's queue may hold before senders wait: whichever of <see cref="MaxBytes"/> and
/// <see cref="MaxPackets"/> is reached first. A packet from another VM counts its frame's size, a local
/// one an estimate of its values' size. See docs/FAULT-TOLERANCE.md, "Flow control".
/// </summary>
/// <example><code>
/// public sealed class Sink : VirtualResource
/// {
///     // 1,000 packets or 1 MiB, whichever comes first; QueueLimit.Unbounded opts out.
///     protected override QueueLimit? QueueLimit => new(1 &lt;&lt; 20, 1_000);
///     protected override void Main() { while (true) Recv(); }
/// }
/// </code></example>
public sealed record QueueLimit
{
    /// <summary>A queue that holds at most <paramref name="maxBytes"/> bytes and <paramref name="maxPackets"/> packets.</summary>
    public QueueLimit(long maxBytes, int maxPackets)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPackets, 1);
        (MaxBytes, MaxPackets) = (maxBytes, maxPackets);
    }

    /// <summary>The bytes a queue may hold.</summary>
    public long MaxBytes { get; }

    /// <summary>The packets a queue may hold.</summary>
    public int MaxPackets { get; }

    /// <summary>The default of every VR: 64 MiB or 100,000 packets.</summary>
    public static QueueLimit Default { get; } = new(64L << 20, 100_000);

    /// <summary>No limit: senders never wait for this VR, and its queue may grow until memory runs out.</summary>
    public static QueueLimit Unbounded { get; } = new(long.MaxValue, int.MaxValue);

    /// <summary>True for <see cref="Unbounded"/>.</summary>
    public bool IsUnbounded => MaxBytes == long.MaxValue && MaxPackets == int.MaxValue;
}

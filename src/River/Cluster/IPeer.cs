namespace River;

/// <summary>A link to one other VM that carries frames in order. In-process or over the network.</summary>
internal interface IPeer
{
    VmId RemoteId { get; }

    /// <summary>
    /// Sends one frame; the bytes are copied before this returns. A <paramref name="corkable"/> frame
    /// may be held back until the sending thread waits (see <see cref="Corking"/>). False when the link
    /// is closed for good (its VM is gone) and the frame was not taken.
    /// </summary>
    bool Send(ReadOnlySpan<byte> frame, bool corkable = false);

    /// <summary>
    /// Sends one frame given in two parts, <paramref name="head"/> then <paramref name="tail"/> (the bytes of a big value
    /// the serializer left out, <see cref="Frames.Packet(RiverSerializer, Packet, int, out Array)"/>): the tail's bytes
    /// are copied once, from the sender's array to where the peer keeps the frame, before this returns.
    /// </summary>
    bool Send(ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail, bool corkable = false);
}

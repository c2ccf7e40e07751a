namespace River;

/// <summary>A link to one other VM that carries frames in order. In-process or over the network.</summary>
internal interface IPeer
{
    VmId RemoteId { get; }

    /// <summary>Sends one frame; the bytes are copied before this returns.</summary>
    void Send(ReadOnlySpan<byte> frame);
}

namespace River;

/// <summary>
/// A VR's own array, offered while it waits in <see cref="VirtualResource.RecvInto"/> for the next big value that
/// arrives for it from another VM: a reader thread takes it (<see cref="TryTake"/>) and reads that value's bytes
/// straight into it, instead of into an array of River's that the VR would copy out of. Any other packet queued for
/// the VR first closes the offer, so the packet that takes it is nearly always the one the receive returns; when it
/// is not (it came from another VM meanwhile, or the receive does not match it), <see cref="Withdraw"/> gives that
/// packet a copy of its value, and the array is the caller's again.
/// </summary>
internal sealed class ArrayOffer(Array array)
{
    private const int Open = 0, Taken = 1, Closed = 2, Filled = 3;
    private int _state;
    private Packet? _holder;

    public Array Array { get; } = array;

    /// <summary>A reader takes the array for a value of <paramref name="arrayType"/> and <paramref name="bytes"/> bytes; false when closed, taken, or of another type or size.</summary>
    public bool TryTake(Type arrayType, int bytes) =>
        Array.GetType() == arrayType && Buffer.ByteLength(Array) == bytes && Interlocked.CompareExchange(ref _state, Taken, Open) == Open;

    /// <summary>The reader is done with the array: the value is in, or the frame failed.</summary>
    public void Fill() => Volatile.Write(ref _state, Filled);

    /// <summary>A packet was queued for the VR (on the thread that filled the array, before <see cref="Fill"/>, when it holds it).</summary>
    public void Queued(Packet packet)
    {
        if (packet.AttributeValues.Length > 0 && ReferenceEquals(packet.AttributeValues[^1], Array)) _holder = packet;
        else Interlocked.CompareExchange(ref _state, Closed, Open);
    }

    /// <summary>
    /// Ends the offer once the receive has its packet (<paramref name="received"/>, or null when it failed). Unless that
    /// packet holds the array (then its reader is done with it: the packet was queued after the read), when a reader
    /// took the array this waits until it is done (at most one frame's read), and a queued packet that holds the
    /// array gets a copy in its place.
    /// </summary>
    public void Withdraw(Packet? received)
    {
        if (received?.AttributeValues is [.., var last] && ReferenceEquals(last, Array)) return;
        if (Interlocked.CompareExchange(ref _state, Closed, Open) == Open) return;
        var spinner = new SpinWait();
        while (Volatile.Read(ref _state) == Taken) spinner.SpinOnce(sleep1Threshold: -1);
        if (_holder is not { } holder) return;
        var copy = RiverSerializer.NewArray(Array.GetType(), (int)Buffer.ByteLength(Array));
        Array.Copy(Array, copy, Array.Length);
        holder.AttributeValues[^1] = copy;
    }
}

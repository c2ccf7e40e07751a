namespace River;

/// <summary>
/// A counter many threads bump on every packet: one slot per processor, each on a cache line of its
/// own, so a socket reader and a VR counting on two cores do not bounce one line between them (an
/// interlocked add on a shared line costs a cross-core transfer per packet). Reading sums the slots.
/// </summary>
internal sealed class StripedCounter
{
    private const int Stride = 16; // longs per slot: 128 bytes, past the adjacent-line prefetcher

    private readonly long[] _slots = new long[Math.Max(1, Environment.ProcessorCount) * Stride];

    public void Increment()
    {
        var slot = Thread.GetCurrentProcessorId() % Environment.ProcessorCount * Stride;
        Interlocked.Increment(ref _slots[slot]);
    }

    public long Value
    {
        get
        {
            long sum = 0;
            for (var i = 0; i < _slots.Length; i += Stride) sum += Volatile.Read(ref _slots[i]);
            return sum;
        }
    }
}

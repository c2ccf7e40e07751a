namespace River;

/// <summary>
/// A counter many threads bump on every packet: each thread counts in one of a few slots, each on a cache
/// line of its own, so a socket reader and a VR counting on two cores do not bounce one line between them
/// (an interlocked add on a shared line costs a cross-core transfer per packet). Reading sums the slots.
/// </summary>
internal sealed class StripedCounter
{
    private const int Stride = 16; // longs per slot: 128 bytes, past the adjacent-line prefetcher

    // A power of two at least the processor count: a thread's slot is its number masked, no division per packet.
    private static readonly int Slots = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, Environment.ProcessorCount));

    private static int s_threads;

    // The slot this thread counts in, handed out in turn once per thread (0: not yet): asking for the processor
    // on every packet cost a system call now and then and a division each time, more than the add itself.
    [ThreadStatic] private static int t_slot;

    private readonly long[] _slots = new long[Slots * Stride];

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // on every packet
    public void Increment()
    {
        var slot = t_slot;
        if (slot == 0) slot = t_slot = Interlocked.Increment(ref s_threads) | int.MinValue; // the high bit: assigned, even for thread 0
        Interlocked.Increment(ref _slots[(slot & (Slots - 1)) * Stride]);
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

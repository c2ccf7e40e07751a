using System.Buffers;
using System.Runtime.InteropServices;

namespace River;

/// <summary>
/// A growing buffer for a checkpoint file whose bytes start on a <see cref="Alignment"/> boundary of memory that never
/// moves (the pinned object heap), so the store can hand its whole blocks to the disk straight from it
/// (<see cref="DirectoryCheckpointStore"/>: O_DIRECT) instead of copying them into the page cache first.
/// </summary>
internal sealed class FileBuffer : IBufferWriter<byte>
{
    /// <summary>The boundary the bytes start on, and the block size a direct write is made of.</summary>
    public const int Alignment = 4096;

    private byte[] _array = [];
    private int _start;
    private int _written;

    /// <summary>A buffer of <paramref name="capacity"/> bytes (at most what an array holds), grown when short.</summary>
    public FileBuffer(long capacity) => Grow(Math.Min(capacity, Largest));

    private static long Largest => Array.MaxLength - Alignment;

    private long Capacity => _array.Length - _start;

    /// <summary>The bytes written so far, from the aligned start.</summary>
    public ReadOnlyMemory<byte> WrittenMemory => _array.AsMemory(_start, _written);

    /// <summary>Empties the buffer, keeping its memory.</summary>
    public void Reset() => _written = 0;

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count > Capacity - _written) throw new InvalidOperationException($"Advanced {count} bytes past the end of the buffer.");
        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        var needed = (long)_written + Math.Max(sizeHint, 1);
        if (needed > Capacity)
        {
            if (needed > Largest) throw new InsufficientMemoryException($"A checkpoint file of {needed} bytes is larger than an array can hold.");
            Grow(Math.Min(Largest, Math.Max(needed, 2L * Capacity)));
        }
        return _array.AsMemory(_start + _written);
    }

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    private void Grow(long capacity)
    {
        var array = GC.AllocateUninitializedArray<byte>((int)capacity + Alignment, pinned: true);
        var start = (int)((Alignment - Marshal.UnsafeAddrOfPinnedArrayElement(array, 0) % Alignment) % Alignment);
        _array.AsSpan(_start, _written).CopyTo(array.AsSpan(start));
        (_array, _start) = (array, start);
    }
}

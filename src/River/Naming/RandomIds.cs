using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace River;

/// <summary>
/// Random (version 4) UUIDs drawn from the OS's secure generator in batches: <see cref="Guid.NewGuid"/> asks the
/// kernel for each one (a system call), which a VM starting a million VRs paid twice per VR (the VR's id and its run's).
/// </summary>
internal static class RandomIds
{
    private const int Batch = 256; // 4 KiB of randomness per refill, per thread

    [ThreadStatic] private static Guid[]? t_batch;
    [ThreadStatic] private static int t_left;

    /// <summary>A fresh random UUID, as unpredictable as <see cref="Guid.NewGuid"/>'s and of the same version and variant.</summary>
    public static Guid Next()
    {
        var batch = t_batch ??= new Guid[Batch];
        if (t_left == 0)
        {
            var bytes = MemoryMarshal.AsBytes(batch.AsSpan());
            RandomNumberGenerator.Fill(bytes);
            // RFC 9562 version 4, variant 10xx; Guid's field _c (the version) is little-endian in bytes 6-7.
            for (var i = 0; i < bytes.Length; i += 16)
            {
                bytes[i + 7] = (byte)((bytes[i + 7] & 0x0F) | 0x40);
                bytes[i + 8] = (byte)((bytes[i + 8] & 0x3F) | 0x80);
            }
            t_left = Batch;
        }
        return batch[--t_left];
    }
}

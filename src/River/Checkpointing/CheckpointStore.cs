using System.Buffers;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace River;

/// <summary>
/// Where a run's checkpoints are kept, by name ("round-000003/3f….part"): a directory now
/// (<see cref="DirectoryCheckpointStore"/>), an object store later. A write is atomic and durable
/// when it completes: a reader sees the whole object or none of it.
/// </summary>
internal interface ICheckpointStore
{
    /// <summary>Writes <paramref name="data"/> under <paramref name="name"/>, replacing what was there, atomically and durably.</summary>
    Task WriteAsync(string name, ReadOnlyMemory<byte> data);

    /// <summary>
    /// Writes <paramref name="data"/> under <paramref name="name"/> atomically for readers, as <see cref="WriteAsync"/> does, but
    /// shows it first and makes it durable after, together with the names written under <paramref name="folders"/> (see
    /// <see cref="Sync"/>): one flush wait where the names first and this file after took two. A crash before it completed may
    /// leave the name with its bytes torn, or without the folders' other names: only for a file whose reader checks it and
    /// can do without it (a round's manifest, sealed: a round that fails its check is passed over for the one kept before it).
    /// </summary>
    Task PublishAsync(string name, ReadOnlyMemory<byte> data, IEnumerable<string> folders);

    /// <summary>The bytes under <paramref name="name"/>; null when there are none.</summary>
    Task<byte[]?> ReadAsync(string name);

    /// <summary>The names that start with <paramref name="prefix"/>.</summary>
    IReadOnlyList<string> List(string prefix);

    /// <summary>Deletes every name that starts with <paramref name="prefix"/>.</summary>
    void Delete(string prefix);

    /// <summary>
    /// Makes the names written under <paramref name="folder"/> ("round-000003/", "" for the top) durable themselves,
    /// not only their bytes: after a crash each is there if it was before this returned.
    /// </summary>
    void Sync(string folder);

    /// <summary>Where the store is, for log lines and <c>river checkpoints</c>.</summary>
    string Location { get; }
}

/// <summary>
/// A checkpoint store in a directory, local or shared: each name a file, written to a temporary file,
/// flushed to the disk (fsync) and renamed over the old one, so a crash leaves the old file or the new one.
/// The renames are made durable by <see cref="Sync"/> (an fsync of the folder), once for many files.
/// </summary>
internal sealed class DirectoryCheckpointStore(string root) : ICheckpointStore
{
    public string Location { get; } = Path.GetFullPath(root);

    /// <remarks>
    /// On the calling thread (its callers are off the VRs' and the transport's threads already): an asynchronous
    /// file write is a synchronous one on another pool thread on Linux, a hop that costs most on a loaded machine.
    /// </remarks>
    public Task WriteAsync(string name, ReadOnlyMemory<byte> data)
    {
        var path = PathOf(name);
        var temp = TempOf(path);
        using (var file = Create(temp, data.Length))
        {
            Write(file.SafeFileHandle, data);
            file.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
        return Task.CompletedTask;
    }

    /// <summary>Below this, a file goes through the page cache whole: a direct write of a few blocks saves next to nothing.</summary>
    private const int DirectMinimum = 64 << 10;

    /// <summary>
    /// Writes <paramref name="data"/> at the start of <paramref name="file"/>: its whole blocks straight from memory to the disk
    /// (O_DIRECT, Linux) when they start on a block boundary (a <see cref="FileBuffer"/>'s do) and are many, the rest through
    /// the page cache.
    /// </summary>
    /// <remarks>
    /// Through the page cache, the writing thread copies a big part's megabytes itself, waiting for a core to do it on loaded
    /// cores, and may be held back by the kernel for dirty pages; a direct write waits only for the device (three 8 MiB parts
    /// beside three busy threads took 2-3× less time: BENCHMARKS.md, "Round 7"). A file system that refuses it gets the copy.
    /// </remarks>
    private static void Write(SafeFileHandle file, ReadOnlyMemory<byte> data)
    {
        var direct = DirectLength(data);
        if (direct > 0 && Posix.SetDirect(file, true))
        {
            try
            {
                RandomAccess.Write(file, data.Span[..direct], 0);
            }
            catch (IOException)
            {
                direct = 0; // refused after all (EINVAL: blocks larger than 4 KiB, or a buffer not pinned that moved): all through the page cache
            }
            Posix.SetDirect(file, false);
        }
        else direct = 0;
        RandomAccess.Write(file, data.Span[direct..], direct);
    }

    /// <summary>How many bytes at the start of <paramref name="data"/> can be written directly: whole blocks of an aligned buffer.</summary>
    private static int DirectLength(ReadOnlyMemory<byte> data) =>
        data.Length >= DirectMinimum && Posix.Direct != 0 && MemoryMarshal.TryGetArray(data, out var bytes)
        && Marshal.UnsafeAddrOfPinnedArrayElement(bytes.Array!, bytes.Offset) % FileBuffer.Alignment == 0
            ? data.Length / FileBuffer.Alignment * FileBuffer.Alignment : 0;

    /// <remarks>
    /// The file is flushed first: on a journaling file system (ext4, XFS) that commits the journal holding every rename
    /// made before it, so the folders' flushes after it find little or nothing left to wait for.
    /// </remarks>
    public Task PublishAsync(string name, ReadOnlyMemory<byte> data, IEnumerable<string> folders)
    {
        // Windows cannot rename an open file (and keeps no folder entries to flush): there the bytes are made durable first.
        if (OperatingSystem.IsWindows()) return WriteAsync(name, data);
        var path = PathOf(name);
        using (var file = Create(TempOf(path), data.Length))
        {
            file.Write(data.Span);
            File.Move(file.Name, path, overwrite: true);
            file.Flush(flushToDisk: true);
        }
        foreach (var folder in folders) Sync(folder);
        return Task.CompletedTask;
    }

    private static string TempOf(string path) => $"{path}.{Guid.NewGuid():N}.tmp";

    public async Task<byte[]?> ReadAsync(string name)
    {
        var path = PathOf(name);
        return File.Exists(path) ? await File.ReadAllBytesAsync(path) : null;
    }

    public IReadOnlyList<string> List(string prefix)
    {
        if (!Directory.Exists(Location)) return [];
        return [.. Directory.EnumerateFiles(Location, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".tmp", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(Location, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)];
    }

    /// <summary>
    /// A new file of about <paramref name="size"/> bytes, unbuffered, in its folder, made first; again if another VM's
    /// <see cref="Delete"/> took the folder as it was left empty.
    /// </summary>
    private static FileStream Create(string path, long size)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, BufferSize = 0, PreallocationSize = size };
        for (var attempt = 1; ; attempt++)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            try
            {
                return new FileStream(path, options);
            }
            catch (DirectoryNotFoundException) when (attempt < 5)
            {
            }
        }
    }

    /// <remarks>
    /// Removes only the folders the deleted files leave empty: VMs that see the directory write their parts into it
    /// meanwhile, and a folder one of them has just made for its file is not this call's to remove.
    /// </remarks>
    public void Delete(string prefix)
    {
        var folders = new HashSet<string>();
        foreach (var name in List(prefix))
        {
            var path = PathOf(name);
            File.Delete(path);
            folders.Add(Path.GetDirectoryName(path)!);
        }
        foreach (var folder in folders.Where(f => f != Location))
        {
            try
            {
                if (!Directory.EnumerateFileSystemEntries(folder).Any()) Directory.Delete(folder);
            }
            catch (IOException)
            {
                // A VM wrote a file into it meanwhile (or removed it first): it is not empty, or gone already.
            }
        }
    }

    public void Sync(string folder)
    {
        // Windows keeps no directory entries to flush; elsewhere fsync(2) on the folder itself, which .NET does not open.
        if (OperatingSystem.IsWindows()) return;
        var path = folder.Length == 0 ? Location : PathOf(folder);
        var fd = Posix.Open(path, 0); // O_RDONLY
        if (fd < 0) throw new IOException($"Cannot open {path} to flush it: errno {Marshal.GetLastPInvokeError()}.");
        try
        {
            if (Posix.Fsync(fd) != 0) throw new IOException($"Cannot flush {path}: errno {Marshal.GetLastPInvokeError()}.");
        }
        finally
        {
            _ = Posix.Close(fd);
        }
    }

    private static class Posix
    {
        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        public static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
        public static extern int Fsync(int fd);

        [DllImport("libc", EntryPoint = "close")]
        public static extern int Close(int fd);

        [DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
        private static extern int Fcntl(int fd, int cmd, int arg);

        private const int GetFlags = 3, SetFlags = 4; // F_GETFL, F_SETFL

        /// <summary>O_DIRECT, whose value differs between architectures; 0 where River does not use it.</summary>
        public static readonly int Direct = !OperatingSystem.IsLinux() ? 0 : RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 or Architecture.X86 or Architecture.RiscV64 or Architecture.LoongArch64 or Architecture.S390x => 0x4000,
            Architecture.Arm64 or Architecture.Arm => 0x10000,
            Architecture.Ppc64le => 0x20000,
            _ => 0,
        };

        /// <summary>Turns O_DIRECT on or off for an open file; false when the file system refuses it.</summary>
        public static bool SetDirect(SafeFileHandle file, bool on)
        {
            var fd = (int)file.DangerousGetHandle();
            var flags = Fcntl(fd, GetFlags, 0);
            return flags >= 0 && Fcntl(fd, SetFlags, on ? flags | Direct : flags & ~Direct) == 0;
        }
    }

    private string PathOf(string name)
    {
        var path = Path.GetFullPath(Path.Combine(Location, name));
        return path.StartsWith(Location + Path.DirectorySeparatorChar, StringComparison.Ordinal) ? path
            : throw new ArgumentException($"Checkpoint name '{name}' leaves the directory {Location}.");
    }
}

/// <summary>
/// The envelope of every checkpoint file: "RVCK", a version, the payload's length and its XXH128, then
/// the payload. A torn, truncated or altered file fails <see cref="Open"/> with a reason instead of being read.
/// A file is built in place: its payload is written after room for the header (<see cref="Writer"/>), which
/// <see cref="Seal"/> fills in, so the payload is never copied into a file of its own.
/// </summary>
/// <remarks>
/// The checksum detects torn and damaged files, not forgery (a SHA-256 without a key did not either: anyone who can
/// write the file can write its hash); XXH128 reads 8 MiB in well under a millisecond, where SHA-256 took 8-70 ms of
/// a round on this machine's loaded cores.
/// </remarks>
internal static class CheckpointFile
{
    private static ReadOnlySpan<byte> Magic => "RVCK"u8;

    // 2: a part's field values follow it (PartPayload) instead of being a byte[] inside it. 3: XXH128 instead of SHA-256.
    private const byte Version = 3;
    private const int HashLength = 16;
    private const int HeaderLength = 4 + 1 + 8 + HashLength;

    /// <summary>
    /// A buffer for a file whose payload is about <paramref name="payload"/> bytes, the header's room taken:
    /// <paramref name="reuse"/> emptied when given (a big state's buffer is not allocated and touched afresh each round).
    /// </summary>
    public static FileBuffer Writer(long payload, FileBuffer? reuse = null)
    {
        var writer = reuse ?? new FileBuffer(HeaderLength + payload);
        writer.Reset();
        writer.GetSpan(HeaderLength)[..HeaderLength].Clear();
        writer.Advance(HeaderLength);
        return writer;
    }

    /// <summary>The file written to <paramref name="writer"/> (from <see cref="Writer"/>), its header filled in.</summary>
    public static ReadOnlyMemory<byte> Seal(FileBuffer writer)
    {
        var file = MemoryMarshal.AsMemory(writer.WrittenMemory).Span;
        Magic.CopyTo(file);
        file[4] = Version;
        BitConverter.TryWriteBytes(file.Slice(5, 8), (long)(file.Length - HeaderLength));
        XxHash128.Hash(file[HeaderLength..], file.Slice(13, HashLength));
        return writer.WrittenMemory;
    }

    /// <summary>A file holding <paramref name="value"/>, serialized.</summary>
    public static ReadOnlyMemory<byte> Of(RiverSerializer serializer, object value)
    {
        var writer = Writer(1024);
        serializer.WriteValue(writer, value.GetType().Name, value);
        return Seal(writer);
    }

    /// <summary>The <typeparamref name="T"/> at <paramref name="pos"/> of a payload, read through the serializer's allow-list.</summary>
    /// <exception cref="InvalidDataException">there is none, or it cannot be read.</exception>
    public static T Read<T>(RiverSerializer serializer, ReadOnlyMemory<byte> payload, ref int pos, string name) where T : class
    {
        try
        {
            return serializer.ReadValue(payload, ref pos) as T ?? throw new InvalidDataException($"{name} holds no {typeof(T).Name}.");
        }
        catch (MessagePack.MessagePackSerializationException e)
        {
            throw new InvalidDataException($"{name} cannot be read: {e.Message}", e);
        }
    }

    /// <summary>The payload of a file built by <see cref="Writer"/> and <see cref="Seal"/>, without checking it.</summary>
    public static ReadOnlyMemory<byte> PayloadOf(ReadOnlyMemory<byte> file) => file[HeaderLength..];

    /// <summary>The payload of a sealed file.</summary>
    /// <exception cref="InvalidDataException">the file is not one, is truncated, or its checksum does not match.</exception>
    public static ReadOnlyMemory<byte> Open(byte[] file, string name)
    {
        if (file.Length < HeaderLength || !file.AsSpan(0, 4).SequenceEqual(Magic))
            throw new InvalidDataException($"{name} is not a River checkpoint file.");
        if (file[4] != Version) throw new InvalidDataException($"{name} is a River checkpoint file of version {file[4]}; this River reads version {Version}.");
        var length = BitConverter.ToInt64(file, 5);
        if (length != file.Length - HeaderLength)
            throw new InvalidDataException($"{name} is truncated: {file.Length - HeaderLength} of {length} bytes.");
        Span<byte> hash = stackalloc byte[HashLength];
        XxHash128.Hash(file.AsSpan(HeaderLength), hash);
        if (!hash.SequenceEqual(file.AsSpan(13, HashLength))) throw new InvalidDataException($"{name} fails its checksum.");
        return file.AsMemory(HeaderLength);
    }
}

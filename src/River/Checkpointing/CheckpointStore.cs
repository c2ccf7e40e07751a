using System.Security.Cryptography;

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

    /// <summary>The bytes under <paramref name="name"/>; null when there are none.</summary>
    Task<byte[]?> ReadAsync(string name);

    /// <summary>The names that start with <paramref name="prefix"/>.</summary>
    IReadOnlyList<string> List(string prefix);

    /// <summary>Deletes every name that starts with <paramref name="prefix"/>.</summary>
    void Delete(string prefix);

    /// <summary>Where the store is, for log lines and <c>river checkpoints</c>.</summary>
    string Location { get; }
}

/// <summary>
/// A checkpoint store in a directory, local or shared: each name a file, written to a temporary file,
/// flushed to the disk (fsync) and renamed over the old one, so a crash leaves the old file or the new one.
/// </summary>
internal sealed class DirectoryCheckpointStore(string root) : ICheckpointStore
{
    public string Location { get; } = Path.GetFullPath(root);

    public async Task WriteAsync(string name, ReadOnlyMemory<byte> data)
    {
        var path = PathOf(name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
        {
            await file.WriteAsync(data);
            file.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }

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

    public void Delete(string prefix)
    {
        foreach (var name in List(prefix)) File.Delete(PathOf(name));
        foreach (var dir in Directory.Exists(Location) ? Directory.GetDirectories(Location) : [])
            if (!Directory.EnumerateFileSystemEntries(dir).Any()) Directory.Delete(dir);
    }

    private string PathOf(string name)
    {
        var path = Path.GetFullPath(Path.Combine(Location, name));
        return path.StartsWith(Location + Path.DirectorySeparatorChar, StringComparison.Ordinal) ? path
            : throw new ArgumentException($"Checkpoint name '{name}' leaves the directory {Location}.");
    }
}

/// <summary>
/// The envelope of every checkpoint file: "RVCK", a version, the payload's length and its SHA-256, then
/// the payload. A torn, truncated or altered file fails <see cref="Open"/> with a reason instead of being read.
/// </summary>
internal static class CheckpointFile
{
    private static ReadOnlySpan<byte> Magic => "RVCK"u8;
    private const byte Version = 1;
    private const int HeaderLength = 4 + 1 + 8 + 32;

    public static byte[] Seal(ReadOnlySpan<byte> payload)
    {
        var file = new byte[HeaderLength + payload.Length];
        Magic.CopyTo(file);
        file[4] = Version;
        BitConverter.TryWriteBytes(file.AsSpan(5, 8), (long)payload.Length);
        SHA256.HashData(payload, file.AsSpan(13, 32));
        payload.CopyTo(file.AsSpan(HeaderLength));
        return file;
    }

    /// <summary>The payload of a sealed file.</summary>
    /// <exception cref="InvalidDataException">the file is not one, is truncated, or its checksum does not match.</exception>
    public static ReadOnlyMemory<byte> Open(byte[] file, string name)
    {
        if (file.Length < HeaderLength || !file.AsSpan(0, 4).SequenceEqual(Magic) || file[4] != Version)
            throw new InvalidDataException($"{name} is not a River checkpoint file (version {Version}).");
        var length = BitConverter.ToInt64(file, 5);
        if (length != file.Length - HeaderLength)
            throw new InvalidDataException($"{name} is truncated: {file.Length - HeaderLength} of {length} bytes.");
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(file.AsSpan(HeaderLength), hash);
        if (!hash.SequenceEqual(file.AsSpan(13, 32))) throw new InvalidDataException($"{name} fails its checksum.");
        return file.AsMemory(HeaderLength);
    }
}

using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace River;

/// <summary>
/// Assemblies shipped to this VM, by SHA-256 of their bytes: kept in memory and in a folder, so a
/// program deployed again, by any run, is not shipped again (even after the VM restarts).
/// </summary>
internal sealed class CodeCache(string directory)
{
    private readonly ConcurrentDictionary<string, byte[]> _bytes = new();

    public static string DefaultDirectory => Path.Combine(Path.GetTempPath(), "river-code");

    public bool Has(string hash) => _bytes.ContainsKey(hash) || File.Exists(PathOf(hash));

    public byte[] Get(string hash) => _bytes.GetOrAdd(hash, h => Verified(h, File.ReadAllBytes(PathOf(h))));

    /// <summary>Stores shipped bytes after checking they are what their hash says.</summary>
    public void Put(string hash, byte[] bytes)
    {
        _bytes[hash] = Verified(hash, bytes);
        try
        {
            Directory.CreateDirectory(directory);
            var temp = PathOf(hash) + "." + Guid.NewGuid().ToString("N");
            File.WriteAllBytes(temp, bytes);
            File.Move(temp, PathOf(hash), overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The memory copy serves this VM's life; the folder is only a cache.
        }
    }

    private string PathOf(string hash) => Path.Combine(directory, hash + ".dll");

    private static byte[] Verified(string hash, byte[] bytes) =>
        Convert.ToHexString(SHA256.HashData(bytes)) == hash
            ? bytes
            : throw new InvalidDataException($"Shipped code does not match its hash {hash}.");
}

namespace River.Tests.Cluster;

/// <summary>
/// A cluster of its own for one test: a unique name and a key file in a temp folder (deleted on dispose),
/// so tests running at the same time, or other River processes on this machine, never meet.
/// </summary>
public sealed class TestCluster : IDisposable
{
    private TestCluster(string name, string directory, string keyFile)
    {
        Name = name;
        Directory = directory;
        KeyFile = keyFile;
    }

    public string Name { get; }

    public string Directory { get; }

    public string KeyFile { get; }

    /// <summary>The options every <c>river</c> command and program needs to reach this cluster.</summary>
    public IReadOnlyList<string> Args => ["--cluster", Name, "--key-file", KeyFile];

    public static TestCluster Create()
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("river-test-").FullName;
        var cluster = new TestCluster("t" + Guid.NewGuid().ToString("N")[..16], directory, Path.Combine(directory, "cluster.key"));
        File.WriteAllText(cluster.KeyFile, Convert.ToHexString(Guid.NewGuid().ToByteArray()) + "\n");
        return cluster;
    }

    /// <summary>Same cluster name, another key: what an intruder, or a misconfigured VM, would hold.</summary>
    public TestCluster WithWrongKey()
    {
        var impostor = new TestCluster(Name, Directory, Path.Combine(Directory, "wrong.key"));
        File.WriteAllText(impostor.KeyFile, Convert.ToHexString(Guid.NewGuid().ToByteArray()) + "\n");
        return impostor;
    }

    /// <summary>The key as ClusterOptions wants it (for tests that speak the protocol themselves).</summary>
    public ClusterOptions Options() => new() { Name = Name, Key = ClusterOptions.ReadKeyFile(KeyFile), Multicast = false };

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // a process still writing there; the temp folder is cleaned eventually
        }
    }
}

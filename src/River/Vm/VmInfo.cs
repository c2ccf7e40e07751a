namespace River;

/// <summary>A River VM as the cluster sees it: its name, address and attributes (<c>cores</c>, <c>os</c>, <c>memory</c>, <c>vrs</c> and user attributes).</summary>
/// <example><code>var linux = Discover(new { os = "linux" }); Deploy&lt;Worker&gt;(linux);</code></example>
public sealed record VmInfo(VmId Id, string Host, int Port, IReadOnlyDictionary<string, object?> Attributes)
{
    /// <summary>Attribute: the VM's processor count.</summary>
    public const string Cores = "cores";

    /// <summary>Attribute: the operating system (<c>linux</c>, <c>windows</c>, <c>osx</c>).</summary>
    public const string Os = "os";

    /// <summary>Attribute: memory available to the VM, in bytes.</summary>
    public const string Memory = "memory";

    /// <summary>Attribute: the host's load average over the last minute (0 where the OS does not say).</summary>
    public const string Load = "load";

    /// <summary>Attribute: the number of VRs running on the VM.</summary>
    public const string Vrs = "vrs";

    /// <inheritdoc />
    public override string ToString() => $"{Id} at {Host}:{Port} {{{string.Join(", ", Attributes.Select(kv => $"{kv.Key}={kv.Value}"))}}}";
}

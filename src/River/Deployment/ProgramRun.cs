using System.Reflection;
using System.Runtime.Loader;

namespace River;

/// <summary>
/// The shipped code of one program run on this VM, loaded into a collectible context of its own so
/// two programs may bring different versions of one assembly; unloaded when the run's last VR here ends.
/// </summary>
internal sealed class ProgramRun(Guid id, IReadOnlyList<CodeRef> code, CodeCache cache)
    : AssemblyLoadContext($"river-run-{id}", isCollectible: true)
{
    private int _vrs;

    public Guid Id { get; } = id;

    /// <summary>A VR's membership in a run: the run's id, and its code's context when the code was shipped.</summary>
    internal readonly record struct Ref(Guid Id, ProgramRun? Code);

    public IReadOnlyList<CodeRef> Code { get; } = code;

    protected override Assembly? Load(AssemblyName name)
    {
        var shipped = Code.FirstOrDefault(c => c.Name == name.Name);
        return shipped is null ? null : LoadFromStream(new MemoryStream(cache.Get(shipped.Hash)));
    }

    public void AddVr() => Interlocked.Increment(ref _vrs);

    /// <summary>True when this was the run's last VR on this VM.</summary>
    public bool RemoveVr() => Interlocked.Decrement(ref _vrs) == 0;
}

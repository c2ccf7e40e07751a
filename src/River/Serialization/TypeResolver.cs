using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;

namespace River;

/// <summary>
/// Resolves type names read from bytes, in the load context of the program the bytes belong to:
/// two programs may bring different versions of one assembly to the same VM. Names are cached per
/// context; a context's cache goes with it when it is unloaded.
/// </summary>
/// <remarks>
/// Every name comes from a peer, so the caches are bounded: only a type's canonical spelling (its
/// <see cref="Type.AssemblyQualifiedName"/> here, which is what River writes) of an allowed type is kept,
/// and at most <see cref="MaxNames"/> of them per context (generic instantiations of allowed types are
/// unbounded in principle). Other spellings are refused rather than resolved without caching: River never
/// writes them, and MessagePack's typeless formatter caches by spelling whatever <c>LoadType</c> returns.
/// </remarks>
internal sealed class TypeResolver(TypeAllowList allowList)
{
    /// <summary>Names kept per load context; a name beyond them is refused before it is parsed or loaded.</summary>
    public const int MaxNames = 1024;

    /// <summary>The longest name parsed; a deep generic instantiation of framework types fits in far fewer characters.</summary>
    public const int MaxNameLength = 4096;

    [ThreadStatic] private static AssemblyLoadContext? t_context;

    private readonly ConcurrentDictionary<string, Type> _default = new();
    private readonly ConditionalWeakTable<AssemblyLoadContext, ConcurrentDictionary<string, Type>> _programs = new();

    /// <summary>Makes names read on this thread resolve in <paramref name="context"/> until the scope ends.</summary>
    public static Scope Enter(AssemblyLoadContext? context)
    {
        var previous = t_context;
        t_context = context;
        return new Scope(previous);
    }

    /// <summary>The allowed type <paramref name="name"/> spells canonically; throws <see cref="TypeAccessException"/> for any other name.</summary>
    public Type Resolve(string name)
    {
        var context = t_context;
        var cache = context is null ? _default : _programs.GetValue(context, _ => new ConcurrentDictionary<string, Type>());
        if (cache.TryGetValue(name, out var type)) return type;
        // Misses are rare (a type's first value in a context): one lock keeps the count a hard cap.
        lock (cache)
        {
            if (cache.TryGetValue(name, out type)) return type;
            if (cache.Count >= MaxNames)
                throw new TypeAccessException($"This VM already knows {MaxNames} type names in this program; '{Shown(name)}' is refused.");
            type = Load(name);
            if (!allowList.IsAllowed(type)) throw new TypeAccessException($"Type '{type.FullName}' is not on this cluster's allow-list; the frame is refused.");
            cache[name] = type;
            return type;
        }
    }

    /// <summary>
    /// The type <paramref name="name"/> spells canonically, in this thread's context, allowed or not and not
    /// cached (a deployed VR's type is checked before its assembly is allowed); throws <see cref="TypeAccessException"/>.
    /// </summary>
    public static Type Load(string name)
    {
        if (name.Length > MaxNameLength) throw new TypeAccessException($"A type name of {name.Length} characters is refused.");
        var context = t_context;
        Type? type;
        try
        {
            type = context is null
                ? Type.GetType(name, throwOnError: false)
                : Type.GetType(name, context.LoadFromAssemblyName, null, throwOnError: false);
        }
        catch (Exception e) when (e is IOException or BadImageFormatException or ArgumentException or TypeLoadException)
        {
            type = null;
        }
        if (type is null) throw new TypeAccessException($"Type '{Shown(name)}' is not known on this VM; the frame is refused.");
        if (type.AssemblyQualifiedName != name)
            throw new TypeAccessException($"Type name '{Shown(name)}' is not spelled as this VM names the type ('{type.AssemblyQualifiedName}'); the frame is refused.");
        return type;
    }

    // A peer's name goes into a log line: keep that line short.
    private static string Shown(string name) => name.Length <= 300 ? name : name[..300] + "…";

    public readonly struct Scope(AssemblyLoadContext? previous) : IDisposable
    {
        public void Dispose() => t_context = previous;
    }
}

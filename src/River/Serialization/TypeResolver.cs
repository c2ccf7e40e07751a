using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;

namespace River;

/// <summary>
/// Resolves type names read from bytes, in the load context of the program the bytes belong to:
/// two programs may bring different versions of one assembly to the same VM. Names are cached per
/// context; a context's cache goes with it when it is unloaded.
/// </summary>
internal sealed class TypeResolver
{
    [ThreadStatic] private static AssemblyLoadContext? t_context;

    private readonly ConcurrentDictionary<string, Type?> _default = new();
    private readonly ConditionalWeakTable<AssemblyLoadContext, ConcurrentDictionary<string, Type?>> _programs = new();

    /// <summary>Makes names read on this thread resolve in <paramref name="context"/> until the scope ends.</summary>
    public static Scope Enter(AssemblyLoadContext? context)
    {
        var previous = t_context;
        t_context = context;
        return new Scope(previous);
    }

    public Type? Resolve(string name)
    {
        var context = t_context;
        var cache = context is null ? _default : _programs.GetValue(context, _ => new ConcurrentDictionary<string, Type?>());
        return cache.TryGetValue(name, out var type) ? type : cache.GetOrAdd(name, n => Load(n, context));
    }

    private static Type? Load(string name, AssemblyLoadContext? context)
    {
        try
        {
            return context is null
                ? Type.GetType(name, throwOnError: false)
                : Type.GetType(name, context.LoadFromAssemblyName, null, throwOnError: false);
        }
        catch (Exception e) when (e is IOException or BadImageFormatException or ArgumentException or TypeLoadException)
        {
            return null;
        }
    }

    public readonly struct Scope(AssemblyLoadContext? previous) : IDisposable
    {
        public void Dispose() => t_context = previous;
    }
}

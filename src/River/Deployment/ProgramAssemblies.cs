using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.Loader;
using System.Security.Cryptography;

namespace River;

/// <summary>
/// A program's own code: the assembly of a VR type and the libraries it references, leaving out the
/// shared framework, River and River's dependencies (every VM has those). This is what is shipped
/// to a VM that lacks it and what a VM's allow-list admits.
/// </summary>
internal static class ProgramAssemblies
{
    private static readonly string? FrameworkDirectory = Path.GetDirectoryName(typeof(object).Assembly.Location);
    private static readonly Assembly River = typeof(ProgramAssemblies).Assembly;
    private static readonly HashSet<string?> RuntimeOwn = [.. River.GetReferencedAssemblies().Select(n => n.Name)];
    private static readonly ConcurrentDictionary<Assembly, CodeRef?> Refs = new();

    public static IReadOnlyList<Assembly> Of(Assembly program) => Of([program]);

    /// <summary>
    /// The code a VR type needs: its assembly's and, for a generic VR such as <c>Host&lt;UserType&gt;</c> (a
    /// library's VR serving the program's type), its type arguments' assemblies, with what they reference.
    /// </summary>
    public static IReadOnlyList<Assembly> Of(Type vrType) => Of(AssembliesOf(vrType));

    private static IEnumerable<Assembly> AssembliesOf(Type type) =>
        type.IsGenericType ? type.GetGenericArguments().SelectMany(AssembliesOf).Prepend(type.Assembly)
        : type.HasElementType ? AssembliesOf(type.GetElementType()!)
        : [type.Assembly];

    private static IReadOnlyList<Assembly> Of(IEnumerable<Assembly> roots)
    {
        var found = new List<Assembly>();
        var seen = new HashSet<Assembly>();
        var todo = new Stack<Assembly>(roots.Reverse());
        while (todo.TryPop(out var a))
        {
            if (!seen.Add(a) || a == River || RuntimeOwn.Contains(a.GetName().Name)) continue;
            if (!a.IsDynamic && Path.GetDirectoryName(a.Location) == FrameworkDirectory) continue;
            found.Add(a);
            var context = AssemblyLoadContext.GetLoadContext(a) ?? AssemblyLoadContext.Default;
            foreach (var name in a.GetReferencedAssemblies())
            {
                try
                {
                    todo.Push(context.LoadFromAssemblyName(name));
                }
                catch (IOException)
                {
                    // A reference the program never loads carries no code or values.
                }
            }
        }
        return found;
    }

    /// <summary>The name and content hash of an assembly loaded from a file; null for in-memory ones.</summary>
    public static CodeRef? RefOf(Assembly assembly) => Refs.GetOrAdd(assembly, static a =>
        a.IsDynamic || string.IsNullOrEmpty(a.Location) ? null
        : new CodeRef(a.GetName().Name!, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(a.Location)))));

    public static byte[] BytesOf(Assembly assembly) => File.ReadAllBytes(assembly.Location);
}

/// <summary>An assembly by simple name and SHA-256 of its bytes.</summary>
internal sealed record CodeRef(string Name, string Hash);

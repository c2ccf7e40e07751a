using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Numerics;
using System.Reflection;

namespace River;

/// <summary>
/// The types a VM will instantiate from bytes: the framework's data types, collections and tuples of
/// allowed types, River's wire types (<see cref="RiverWireTypes"/>, not the rest of River), and anything
/// from an allowed assembly (the program's own, deployed ones). Never a delegate or an exception, whatever
/// its assembly. A type name in a frame never loads or creates anything outside this list.
/// </summary>
internal sealed class TypeAllowList
{
    private static readonly HashSet<Type> FrameworkTypes =
    [
        typeof(bool), typeof(char), typeof(byte), typeof(sbyte), typeof(short), typeof(ushort), typeof(int), typeof(uint),
        typeof(long), typeof(ulong), typeof(float), typeof(double), typeof(decimal), typeof(Half), typeof(Int128), typeof(UInt128),
        typeof(string), typeof(DateTime), typeof(DateTimeOffset), typeof(TimeSpan), typeof(DateOnly), typeof(TimeOnly),
        typeof(Guid), typeof(BigInteger), typeof(Uri), typeof(Version), typeof(object),
    ];

    private static readonly HashSet<Type> FrameworkGenerics =
    [
        typeof(List<>), typeof(Dictionary<,>), typeof(HashSet<>), typeof(SortedDictionary<,>), typeof(SortedList<,>),
        typeof(SortedSet<>), typeof(Queue<>), typeof(Stack<>), typeof(LinkedList<>), typeof(KeyValuePair<,>), typeof(Nullable<>),
        typeof(ImmutableArray<>), typeof(ImmutableList<>), typeof(ImmutableDictionary<,>), typeof(ImmutableHashSet<>),
        typeof(ArraySegment<>), typeof(ReadOnlyMemory<>), typeof(Memory<>),
        typeof(Tuple<>), typeof(Tuple<,>), typeof(Tuple<,,>), typeof(Tuple<,,,>), typeof(Tuple<,,,,>), typeof(Tuple<,,,,,>), typeof(Tuple<,,,,,,>), typeof(Tuple<,,,,,,,>),
        typeof(ValueTuple<>), typeof(ValueTuple<,>), typeof(ValueTuple<,,>), typeof(ValueTuple<,,,>), typeof(ValueTuple<,,,,>), typeof(ValueTuple<,,,,,>), typeof(ValueTuple<,,,,,,>), typeof(ValueTuple<,,,,,,,>),
    ];

    /// <summary>
    /// River's types that travel between VMs: ids, VM descriptions and the control messages. Mailboxes,
    /// contexts and River's exceptions never do, so no frame may build one.
    /// </summary>
    public static readonly HashSet<Type> RiverWireTypes =
    [
        typeof(VrId), typeof(VmId), typeof(VmInfo), typeof(CodeRef), typeof(VmStatus), typeof(VrStatus), typeof(LinkStatus), typeof(FailureReport), typeof(FailureKind),
        typeof(Announce), typeof(Members), typeof(Goodbye), typeof(DeployRequest), typeof(DeployReply), typeof(CodeUpload),
        typeof(Lookup), typeof(LookupReply), typeof(StatusRequest), typeof(StatusReply), typeof(KillRequest), typeof(KillReply),
        typeof(MonitorRequest), typeof(MonitorAnswer), typeof(DemonitorRequest), typeof(Down), typeof(UnlinkRequest), typeof(Credit),
        typeof(MirrorView), typeof(MirrorEntry), typeof(MirrorLog), typeof(MirrorLogAck), typeof(MirrorAck), typeof(MirrorDelivered), typeof(MirrorTailRequest), typeof(MirrorTail),
        typeof(MirrorAddRequest), typeof(MirrorAddReply),
        .. CheckpointWire.Types,
    ];

    private static readonly Assembly River = typeof(TypeAllowList).Assembly;

    private readonly ConcurrentDictionary<Assembly, bool> _assemblies = new();
    private readonly ConcurrentDictionary<Type, bool> _verdicts = new();

    /// <summary>Allows every type defined in <paramref name="assembly"/> (River's own stay limited to <see cref="RiverWireTypes"/>).</summary>
    public void Allow(Assembly assembly)
    {
        if (_assemblies.TryAdd(assembly, true)) _verdicts.Clear();
    }

    /// <summary>Allows a program's assembly and the libraries it references (see <see cref="ProgramAssemblies"/>).</summary>
    public void AllowProgram(Assembly program)
    {
        if (_assemblies.ContainsKey(program)) return;
        foreach (var a in ProgramAssemblies.Of(program)) Allow(a);
    }

    /// <summary>Allows the code a VR type needs: its program's, and its generic type arguments' (see <see cref="ProgramAssemblies.Of(Type)"/>).</summary>
    public void AllowProgram(Type vrType)
    {
        if (!vrType.IsGenericType) AllowProgram(vrType.Assembly);
        else foreach (var a in ProgramAssemblies.Of(vrType)) Allow(a);
    }

    /// <summary>True when <paramref name="type"/>, its element types and generic arguments are all allowed.</summary>
    public bool IsAllowed(Type type) => _verdicts.TryGetValue(type, out var known) ? known : _verdicts.GetOrAdd(type, t =>
        t.IsArray ? IsAllowed(t.GetElementType()!)
        : IsAllowedCore(t) && (!t.IsGenericType || t.GetGenericArguments().All(IsAllowed)));

    /// <summary>The type itself, disregarding its generic arguments and element types.</summary>
    public bool IsAllowedCore(Type type)
    {
        if (type.IsArray) return true;
        if (typeof(Delegate).IsAssignableFrom(type) || typeof(Exception).IsAssignableFrom(type) || type.IsPointer || type.IsByRef) return false;
        if (type.Assembly == River) return RiverWireTypes.Contains(type);
        if (_assemblies.ContainsKey(type.Assembly)) return true;
        if (type.IsGenericType) return FrameworkGenerics.Contains(type.GetGenericTypeDefinition());
        return FrameworkTypes.Contains(type) || (type.IsEnum && _assemblies.ContainsKey(type.Assembly));
    }
}

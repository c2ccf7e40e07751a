using System.Collections.Concurrent;
using System.Linq.Expressions;
using System.Reflection;

namespace River;

/// <summary>
/// Turns what a user passes as attributes (anonymous object, dictionary, packet) into name and value
/// arrays. Member lookup is compiled once per type; reading costs one array of values.
/// </summary>
internal static class AttributeReader
{
    private const string SrcReserved = "Attribute 'src' is set by the runtime to the sender's id; choose another name.";
    private const string TraceReserved = "Attributes 'river.trace' and 'river.tracestate' carry the trace context (Packet.TraceParent); choose another name.";
    private static readonly ConcurrentDictionary<Type, TypeShape> Shapes = new();

    /// <summary>Reads attributes to send: <c>src</c> and the trace attributes are refused, <c>dest</c> is taken out.</summary>
    public static void Read(object attributes, out string[] names, out object?[] values, out VrId? dest)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        dest = null;
        if (attributes is Packet p)
        {
            names = p.AttributeNames;
            values = p.AttributeValues;
            if (p.Dest != default) dest = p.Dest;
            return;
        }
        if (attributes is not (IReadOnlyDictionary<string, object?> or IDictionary<string, object?>))
        {
            if (!ReadPlain(attributes, ref t_sent, out names, out values).NamesSrcOrDest) return;
        }
        else ReadForMatch(attributes, out names, out values);
        var destAt = -1;
        for (var i = 0; i < names.Length; i++)
        {
            if (names[i] == Packet.SrcAttribute) throw new ArgumentException(SrcReserved);
            if (names[i] is Packet.TraceAttribute or Packet.TraceStateAttribute) throw new ArgumentException(TraceReserved);
            if (names[i] == Packet.DestAttribute) destAt = i;
        }
        if (destAt < 0) return;
        dest = values[destAt] is VrId id
            ? id
            : throw new ArgumentException($"Attribute 'dest' must be a VrId, not {values[destAt]?.GetType().FullName ?? "null"}.");
        names = [.. names[..destAt], .. names[(destAt + 1)..]];
        values = [.. values[..destAt], .. values[(destAt + 1)..]];
    }

    /// <summary>
    /// Reads like <see cref="Read"/>, but a plain object's values go into an array this thread lends (<paramref name="borrowed"/>
    /// true), for a send that serializes them at once: give it back with <see cref="GiveBack"/>, and copy it for a packet
    /// that keeps it. A stream of sends then allocates no array of values per packet.
    /// </summary>
    public static void ReadBorrowed(object attributes, out string[] names, out object?[] values, out VrId? dest, out bool borrowed)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        // The type this thread sent last first: only plain objects have shapes, so a match skips the interface checks.
        var type = attributes.GetType();
        if ((t_sent is { } last && last.Type == type ? last
                : attributes is Packet or IReadOnlyDictionary<string, object?> or IDictionary<string, object?> ? null
                : ShapeOf(type, ref t_sent)) is { NamesSrcOrDest: false } shape)
        {
            names = shape.Names;
            // Taken out of the slot while lent: a send made while this one serializes (a property getter's) gets an array of its own.
            values = t_lent is { } lent && lent.Length == names.Length ? lent : new object?[names.Length];
            t_lent = null;
            shape.Fill(attributes, values);
            dest = null;
            borrowed = true;
            return;
        }
        Read(attributes, out names, out values, out dest);
        borrowed = false;
    }

    /// <summary>Takes back an array <see cref="ReadBorrowed"/> lent, cleared so it keeps nothing the user sent alive.</summary>
    public static void GiveBack(object?[] values)
    {
        Array.Clear(values);
        t_lent = values;
    }

    [ThreadStatic] private static object?[]? t_lent;

    /// <summary>Reads every attribute as given, <c>src</c> and <c>dest</c> included.</summary>
    public static void ReadForMatch(object attributes, out string[] names, out object?[] values)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        switch (attributes)
        {
            case Packet p:
                names = [.. p.Keys];
                values = [.. p.Values];
                return;
            case IReadOnlyDictionary<string, object?> d:
                ReadPairs(d, d.Count, out names, out values);
                return;
            case IDictionary<string, object?> d:
                ReadPairs(d, d.Count, out names, out values);
                return;
            default:
                ReadPlain(attributes, ref t_matched, out names, out values);
                return;
        }
    }

    /// <summary>
    /// True when <paramref name="attributes"/> (an anonymous or plain object) holds exactly
    /// <paramref name="values"/>, compared without boxing: lets a receive reuse its last compiled match.
    /// </summary>
    public static bool HasValues(object attributes, object?[] values) =>
        attributes is not (Packet or IReadOnlyDictionary<string, object?> or IDictionary<string, object?>)
        && ShapeOf(attributes.GetType(), ref t_matched) is var shape
        && shape.Names.Length == values.Length
        && shape.Same(attributes, values);

    // A send loop sends one type and a receive loop matches with one: each keeps its last shape, skipping the shared lookup.
    [ThreadStatic] private static TypeShape? t_sent, t_matched;

    private static TypeShape ReadPlain(object attributes, ref TypeShape? last, out string[] names, out object?[] values)
    {
        var shape = ShapeOf(attributes.GetType(), ref last);
        names = shape.Names;
        values = shape.Read(attributes);
        return shape;
    }

    private static TypeShape ShapeOf(Type type, ref TypeShape? last) =>
        last is { } shape && shape.Type == type ? shape : last = Shapes.GetOrAdd(type, static t => new TypeShape(t));

    private static void ReadPairs(IEnumerable<KeyValuePair<string, object?>> pairs, int count, out string[] names, out object?[] values)
    {
        names = new string[count];
        values = new object?[count];
        var i = 0;
        foreach (var (key, value) in pairs)
        {
            if (string.IsNullOrEmpty(key)) throw new ArgumentException("An attribute name is null or empty.");
            names[i] = key;
            values[i++] = value;
        }
    }

    /// <summary>The public readable members of one type, read by compiled delegates (into the array given).</summary>
    private sealed class TypeShape
    {
        public readonly Type Type;
        public readonly string[] Names;
        public readonly bool NamesSrcOrDest;
        public readonly Action<object, object?[]> Fill;
        public readonly Func<object, object?[], bool> Same;

        public object?[] Read(object attributes)
        {
            var values = new object?[Names.Length];
            Fill(attributes, values);
            return values;
        }

        public TypeShape(Type type)
        {
            var members = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.CanRead && p.GetIndexParameters().Length == 0)
                .Cast<MemberInfo>()
                .Concat(type.GetFields(BindingFlags.Public | BindingFlags.Instance))
                .ToList();
            var obj = Expression.Parameter(typeof(object), "o");
            var typed = Expression.Convert(obj, type);
            Type = type;
            Names = [.. members.Select(m => m.Name)];
            NamesSrcOrDest = Names.Contains(Packet.SrcAttribute) || Names.Contains(Packet.DestAttribute);
            var array = Expression.Parameter(typeof(object?[]), "values");
            IEnumerable<Expression> assigns = members.Select((m, i) => Expression.Assign(Expression.ArrayAccess(array, Expression.Constant(i)),
                Expression.Convert(Expression.MakeMemberAccess(typed, m), typeof(object))));
            Fill = Expression.Lambda<Action<object, object?[]>>(Expression.Block(typeof(void), assigns.Append(Expression.Empty())), obj, array).Compile();
            Expression same = Expression.Constant(true);
            for (var i = 0; i < members.Count; i++)
            {
                var member = Expression.MakeMemberAccess(typed, members[i]);
                var given = Expression.ArrayIndex(array, Expression.Constant(i));
                same = Expression.AndAlso(same, member.Type.IsValueType
                    ? Expression.AndAlso(Expression.TypeIs(given, member.Type), Expression.Call(
                        Expression.Constant(typeof(EqualityComparer<>).MakeGenericType(member.Type).GetProperty("Default")!.GetValue(null)),
                        typeof(EqualityComparer<>).MakeGenericType(member.Type).GetMethod("Equals", [member.Type, member.Type])!,
                        member, Expression.Unbox(given, member.Type)))
                    : Expression.Call(typeof(object).GetMethod(nameof(Equals), [typeof(object), typeof(object)])!, member, given));
            }
            Same = Expression.Lambda<Func<object, object?[], bool>>(same, obj, array).Compile();
        }
    }
}

namespace River;

/// <summary>
/// A compiled match: every named attribute present and equal (or satisfying its condition), or an
/// arbitrary predicate. Exposes one equality key so a mailbox can use an index instead of a scan.
/// </summary>
internal sealed class Matcher
{
    public static readonly Matcher All = new([], [], null);

    private readonly string[] _names;
    private readonly object?[] _values;
    private readonly Func<Packet, bool>? _predicate;

    private Matcher(string[] names, object?[] values, Func<Packet, bool>? predicate)
    {
        _names = names;
        _values = values;
        _predicate = predicate;
        for (var i = 0; i < names.Length; i++)
        {
            if (values[i] is MatchCondition || values[i] is null) continue;
            KeyName = names[i];
            KeyValue = values[i];
            break;
        }
    }

    /// <summary>An attribute this match requires to equal <see cref="KeyValue"/>, if any.</summary>
    public string? KeyName { get; }

    public object? KeyValue { get; }

    public static Matcher From(object? match) => match switch
    {
        null => All,
        Matcher m => m,
        Func<Packet, bool> f => new Matcher([], [], f),
        _ => FromAttributes(match),
    };

    public static Matcher From(Func<Packet, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        return new Matcher([], [], predicate);
    }

    // Receive loops pass the same match again and again: reuse this thread's last one when it is equal.
    [ThreadStatic] private static (Type Type, Matcher Matcher) t_last;

    private static Matcher FromAttributes(object match)
    {
        var type = match.GetType();
        if (t_last.Type == type && AttributeReader.HasValues(match, t_last.Matcher._values)) return t_last.Matcher;
        AttributeReader.ReadForMatch(match, out var names, out var values);
        var matcher = names.Length == 0 ? All : new Matcher(names, values, null);
        t_last = (type, matcher);
        return matcher;
    }

    public bool Matches(Packet packet) => _predicate?.Invoke(packet) ?? MatchesAttributes(packet);

    /// <summary>Matches an attribute set that is not a packet (a VM's attributes for <c>Discover</c>).</summary>
    public bool Matches(IReadOnlyDictionary<string, object?> attributes) => _predicate is null
        ? MatchesAttributes(attributes)
        : throw new ArgumentException("Discover filters on VM attributes with a match object, not a packet predicate.");

    private bool MatchesAttributes(IReadOnlyDictionary<string, object?> attributes)
    {
        for (var i = 0; i < _names.Length; i++)
        {
            if (!attributes.TryGetValue(_names[i], out var actual)) return false;
            var wanted = _values[i];
            if (wanted is MatchCondition c ? !c.Matches(actual) : !Equals(wanted, actual)) return false;
        }
        return true;
    }
}

namespace River;

/// <summary>Conditions to put in a match object for <c>Recv</c>, <c>Peek</c>, <c>TryRecv</c> and <c>Discover</c>.</summary>
/// <example><code>
/// Recv(new { tag = Match.OneOf("result", "error"), step = Match.Where&lt;int&gt;(s => s > 3), value = Match.Any });
/// </code></example>
public static class Match
{
    /// <summary>Any value, as long as the attribute is present.</summary>
    public static MatchCondition Any { get; } = new AnyCondition();

    /// <summary>A present value of type <typeparamref name="T"/> for which <paramref name="predicate"/> holds.</summary>
    public static MatchCondition Where<T>(Func<T, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        return new WhereCondition<T>(predicate);
    }

    /// <summary>A present value equal to one of <paramref name="values"/>.</summary>
    public static MatchCondition OneOf(params object?[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return new OneOfCondition(values);
    }

    private sealed class AnyCondition : MatchCondition
    {
        public override bool Matches(object? value) => true;
    }

    private sealed class WhereCondition<T>(Func<T, bool> predicate) : MatchCondition
    {
        public override bool Matches(object? value) => value is T t && predicate(t);
    }

    private sealed class OneOfCondition(object?[] values) : MatchCondition
    {
        public override bool Matches(object? value) => Array.Exists(values, v => Equals(v, value));
    }
}

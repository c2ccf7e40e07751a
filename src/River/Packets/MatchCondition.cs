namespace River;

/// <summary>
/// A condition on one attribute's value inside a match object. Plain values in a match mean
/// "equal to"; <see cref="Match"/> builds the others. Subclass it for conditions of your own.
/// </summary>
public abstract class MatchCondition
{
    /// <summary>True when a present attribute's value satisfies the condition.</summary>
    public abstract bool Matches(object? value);
}

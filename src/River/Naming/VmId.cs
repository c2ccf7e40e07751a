namespace River;

/// <summary>The UUID name of a River VM.</summary>
public readonly record struct VmId(Guid Value)
{
    /// <summary>A fresh, random id.</summary>
    public static VmId New() => new(Guid.NewGuid());

    /// <summary>Parses the canonical UUID form.</summary>
    public static VmId Parse(string text) => new(Guid.Parse(text));

    /// <inheritdoc />
    public override string ToString() => Value.ToString();
}

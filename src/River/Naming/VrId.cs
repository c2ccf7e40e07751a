namespace River;

/// <summary>The UUID name of a virtual resource. <see cref="ToString"/> is the canonical UUID.</summary>
/// <example><code>VrId worker = Deploy&lt;Worker&gt;(vm)[0]; Console.WriteLine(worker);</code></example>
public readonly record struct VrId(Guid Value)
{
    /// <summary>A fresh, random id.</summary>
    public static VrId New() => new(RandomIds.Next());

    /// <summary>Parses the canonical UUID form.</summary>
    public static VrId Parse(string text) => new(Guid.Parse(text));

    /// <inheritdoc />
    public override string ToString() => Value.ToString();
}

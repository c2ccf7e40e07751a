namespace River;

/// <summary>Thrown by <c>Send</c> and <c>Deploy</c> when a value cannot be carried between VMs.</summary>
public sealed class UnsupportedValueException(string attribute, Type? valueType, string reason, Exception? inner = null)
    : ArgumentException($"Attribute '{attribute}': a value of type {valueType?.FullName ?? "null"} cannot be carried: {reason}", inner)
{
    /// <summary>The attribute (or deploy argument) that holds the value.</summary>
    public string Attribute { get; } = attribute;

    /// <summary>The value's runtime type.</summary>
    public Type? ValueType { get; } = valueType;
}

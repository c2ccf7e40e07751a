namespace River;

/// <summary>A VR's lifecycle event: it started, or it ended (<see cref="Error"/> set when it failed).</summary>
public sealed class VrLifecycleEventArgs(VrId id, Type type, VrId? parent, Exception? error) : EventArgs
{
    /// <summary>The VR.</summary>
    public VrId Id { get; } = id;

    /// <summary>Its class.</summary>
    public Type Type { get; } = type;

    /// <summary>The VR that deployed it.</summary>
    public VrId? Parent { get; } = parent;

    /// <summary>Why it failed; <c>null</c> when it returned normally (or has just started).</summary>
    public Exception? Error { get; } = error;
}

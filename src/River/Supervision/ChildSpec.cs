namespace River;

/// <summary>
/// A child a <see cref="Supervisor"/> starts and restarts: its VR type and deploy arguments. The child is
/// deployed with these arguments followed by how many times it has been restarted (0 at first).
/// </summary>
/// <example><code>new ChildSpec(typeof(Worker), 0, 1000)</code></example>
public sealed record ChildSpec(Type VrType, params object?[] Args);

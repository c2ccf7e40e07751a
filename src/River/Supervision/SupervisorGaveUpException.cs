namespace River;

/// <summary>A <see cref="Supervisor"/>'s children failed more often than it may restart them; it fails with this, naming the last failure.</summary>
public sealed class SupervisorGaveUpException(string message) : Exception(message);

namespace River;

/// <summary>A VM that had to join a cluster could not: every seed refused it or none answered. The message names each seed's answer.</summary>
public sealed class ClusterJoinException(string message) : Exception(message);

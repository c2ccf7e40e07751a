namespace River.Mpi;

/// <summary>What a completed operation matched: for a receive, the sender's rank and the message's tag; for a send, the destination and the tag.</summary>
/// <param name="Source">a rank of the communicator the operation ran on.</param>
/// <param name="Tag">the message's tag.</param>
public sealed record CompletedStatus(int Source, int Tag);

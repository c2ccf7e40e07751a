namespace River.Mpi;

/// <summary>The MPI job was aborted because a rank failed (MPI_Abort): thrown in every rank still running.</summary>
public sealed class MpiAbortedException : Exception
{
    /// <summary>Creates the exception for the failure of <paramref name="rank"/>.</summary>
    public MpiAbortedException(int rank, string error, Exception? inner = null)
        : base($"MPI job aborted: rank {rank} failed: {error}", inner)
    {
        Rank = rank;
        Error = error;
    }

    /// <summary>The rank that failed first, as far as this rank learned.</summary>
    public int Rank { get; }

    /// <summary>Its error, <c>Full.Type.Name: message</c>.</summary>
    public string Error { get; }
}

using River.Mpi;

namespace River.Tests.Mpi;

/// <summary>Runs an MPI program on an embedded cluster, as <c>MpiApp</c> does, bounded in time.</summary>
internal static class Embedded
{
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>Runs <typeparamref name="TProgram"/> with <paramref name="ranks"/> ranks over <paramref name="vms"/> VMs; rethrows rank 0's failure (an abort).</summary>
    public static async Task RunAsync<TProgram>(int ranks, int vms = 3, params string[] args) where TProgram : MpiProgram
    {
        await using var cluster = new LocalCluster(vms);
        await cluster.Vms[0].RunAsync<TProgram>(args, ranks).WaitAsync(Bound);
    }
}

/// <summary>What a rank checks: a failure aborts the job and names the rank and what was wrong.</summary>
internal static class Expect
{
    public static void Equal<T>(T expected, T actual, string what)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
            throw new InvalidOperationException($"{what}: expected {expected}, got {actual}");
    }

    public static void Sequence<T>(IEnumerable<T> expected, IEnumerable<T>? actual, string what)
    {
        if (actual is null || !expected.SequenceEqual(actual))
            throw new InvalidOperationException($"{what}: expected [{string.Join(", ", expected)}], got [{(actual is null ? "null" : string.Join(", ", actual))}]");
    }
}

namespace River.Mpi;

/// <summary>The entry point of an MPI program on River.</summary>
/// <example><code>return await MpiApp.RunAsync&lt;Ring&gt;(args);</code></example>
public static class MpiApp
{
    /// <summary>
    /// Runs <typeparamref name="TProgram"/> as an MPI job: <c>-n N</c> ranks (default: one per VM), placed
    /// round-robin over the VMs, rank 0 in this process. Every other argument is River's
    /// (<see cref="RiverApp.RunAsync{TVr}(string[])"/>: embedded by default, <c>--seeds</c> or <c>--discover</c>
    /// to run on a cluster) or the program's <c>Args</c>.
    /// Returns 0 when every rank returned; non-zero when a rank failed (the job was aborted, and the rank and
    /// its error are printed) or the options were bad.
    /// </summary>
    public static async Task<int> RunAsync<TProgram>(string[] args) where TProgram : MpiProgram
    {
        ArgumentNullException.ThrowIfNull(args);
        int ranks;
        List<string> rest;
        try
        {
            (ranks, rest) = ParseRanks(args);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"river mpi: {e.Message}");
            return 2;
        }
        return await RiverApp.RunAsync<TProgram>([.. rest], ranks);
    }

    /// <summary>Takes <c>-n N</c> (or <c>-np N</c>) out of <paramref name="args"/>; 0 ranks means one per VM.</summary>
    internal static (int Ranks, List<string> Others) ParseRanks(IReadOnlyList<string> args)
    {
        var ranks = 0;
        var rest = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] is not ("-n" or "-np"))
            {
                rest.Add(args[i]);
                continue;
            }
            if (++i >= args.Count || !int.TryParse(args[i], out ranks) || ranks < 1)
                throw new ArgumentException($"{args[i - 1]} takes a positive number of ranks{(i < args.Count ? $", not '{args[i]}'" : "")}.");
        }
        return (ranks, rest);
    }
}

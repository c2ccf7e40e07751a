using River.Mpi;

// Word count: rank 0 scatters blocks of lines, every rank counts its block, rank 0 gathers and merges.
public sealed class MpiWordCount : MpiProgram
{
    protected override void Run(Communicator world)
    {
        var lines = world.Rank == 0 ? Classics.Text() : [];
        var blocks = Enumerable.Range(0, world.Size).Select(i => lines[Blocks.Of(lines.Length, world.Size, i)]).ToArray();
        var counts = world.Gather(Classics.CountWords(world.Scatter(blocks, root: 0)), root: 0);
        if (world.Rank != 0) return;
        var merged = new Dictionary<string, int>();
        foreach (var c in counts) Classics.Merge(merged, c);
        Classics.PrintWordCount(lines, merged, world.Size);
    }
}

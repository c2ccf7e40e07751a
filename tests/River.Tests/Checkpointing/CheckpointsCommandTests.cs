using System.Text.Json;
using River.Tests.Cluster;

namespace River.Tests.Checkpointing;

/// <summary>
/// <c>river checkpoints DIR</c> (a real process) on the directory a real checkpointed run wrote: its rounds as they are,
/// then with the newest round's manifest gone (partial) and one bit of the other round flipped (corrupt).
/// </summary>
[Collection(CheckpointCollection.Name)]
public sealed class CheckpointsCommandTests : CheckpointDirectory
{
    private sealed record Round(int Number, string State, long Bytes, string[] Vrs, string?[] Types, string? Problem);

    private static async Task<List<Round>> ListAsync(string dir)
    {
        var run = await RiverCli.RunAsync("checkpoints", dir, "--json");
        run.AssertSucceeded();
        using var json = JsonDocument.Parse(run.Stdout);
        return
        [
            .. json.RootElement.EnumerateArray().Select(r => new Round(
                r.GetProperty("round").GetInt32(), r.GetProperty("state").GetString()!, r.GetProperty("bytes").GetInt64(),
                [.. r.GetProperty("vrs").EnumerateArray().Select(v => v.GetProperty("id").GetString()!)],
                [.. r.GetProperty("vrs").EnumerateArray().Select(v => v.GetProperty("type").GetString())],
                r.GetProperty("problem").GetString())),
        ];
    }

    private string Folder(int round) => Path.Combine(_dir, Path.GetDirectoryName(CheckpointCoordinator.ManifestName(round))!);

    private string[] PartIds(int round) => [.. Directory.GetFiles(Folder(round), "*.part").Select(Path.GetFileNameWithoutExtension).Order()!];

    [Fact]
    public async Task Lists_the_rounds_of_a_real_run_and_marks_a_partial_and_a_corrupt_one()
    {
        await using (var cluster = new LocalCluster(1 + Exchange.Workers))
        {
            await CheckpointedRun.RunAsync(cluster.Vms[0], typeof(Exchange), ["60", "10"], _dir, restart: false).WaitAsync(Bound);
        }

        var rounds = await ListAsync(_dir);
        Assert.Equal([4, 5], rounds.Select(r => r.Number));
        foreach (var r in rounds)
        {
            Assert.Equal("complete", r.State);
            Assert.Equal(PartIds(r.Number), r.Vrs.Order());
            Assert.All(r.Types, t => Assert.StartsWith(typeof(Exchange).FullName + ",", t, StringComparison.Ordinal));
            Assert.Equal(Directory.GetFiles(Folder(r.Number)).Sum(f => new FileInfo(f).Length), r.Bytes); // its parts and manifest
            Assert.Null(r.Problem);
        }

        // The home VM died before round 5's manifest was written; one bit of a part of round 4 flipped on the disk.
        File.Delete(Path.Combine(_dir, CheckpointCoordinator.ManifestName(5)));
        var part = Directory.GetFiles(Folder(4), "*.part")[0];
        var bytes = File.ReadAllBytes(part);
        bytes[bytes.Length / 2] ^= 0x10;
        File.WriteAllBytes(part, bytes);

        var table = await RiverCli.RunAsync("checkpoints", _dir, "--verbose");
        table.AssertSucceeded();
        Assert.Matches(@"^4\s+corrupt\s", table.Lines[1]);
        Assert.Contains($"{Path.GetFileName(part)} fails its checksum", table.Lines[2], StringComparison.Ordinal);
        Assert.Contains(table.Lines, l => l.StartsWith("5  partial", StringComparison.Ordinal));
        Assert.All(PartIds(5), id => Assert.Contains(table.Lines, l => l.StartsWith(id, StringComparison.Ordinal) && l.Contains(nameof(Exchange), StringComparison.Ordinal)));

        rounds = await ListAsync(_dir);
        Assert.Equal(["corrupt", "partial"], rounds.Select(r => r.State));
        Assert.Equal(Exchange.Workers, rounds[1].Vrs.Length); // every part of round 5 had come in
    }

    [Fact]
    public async Task A_directory_without_rounds_is_refused_with_a_reason()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "something-else"));
        File.WriteAllText(Path.Combine(_dir, "something-else", "notes.txt"), "not a checkpoint");
        var run = await RiverCli.RunAsync("checkpoints", _dir);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("is not a checkpoint directory", run.Stderr, StringComparison.Ordinal);

        var missing = await RiverCli.RunAsync("checkpoints", Path.Combine(_dir, "missing"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("is not a directory", missing.Stderr, StringComparison.Ordinal);
    }
}

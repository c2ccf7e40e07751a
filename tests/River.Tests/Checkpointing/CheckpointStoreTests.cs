namespace River.Tests.Checkpointing;

/// <summary>
/// A checkpoint file is sealed with a checksum that catches any flipped bit, and a store's published file replaces the
/// old one whole, flushing the folders it is given.
/// </summary>
public sealed class CheckpointStoreTests : IDisposable
{
    private static readonly RiverSerializer Serializer = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("river-store-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_sealed_file_reads_back_and_any_flipped_bit_fails_its_checksum()
    {
        var writer = CheckpointFile.Writer(3 << 20);
        var payload = new byte[3 << 20];
        new Random(7).NextBytes(payload);
        payload.CopyTo(writer.GetSpan(payload.Length));
        writer.Advance(payload.Length);
        var file = CheckpointFile.Seal(writer).ToArray();

        Assert.Equal(payload, CheckpointFile.Open(file, "f").ToArray());
        foreach (var at in new[] { 13, 20, file.Length / 2, file.Length - 1 })
        {
            var bad = (byte[])file.Clone();
            bad[at] ^= 0x10;
            var e = Assert.Throws<InvalidDataException>(() => CheckpointFile.Open(bad, "f"));
            Assert.Contains("f fails its checksum", e.Message);
        }
    }

    [Fact]
    public void A_reused_buffer_holds_only_the_new_file()
    {
        var first = CheckpointFile.Writer(16);
        "a longer first payload"u8.CopyTo(first.GetSpan(64));
        first.Advance(22);
        CheckpointFile.Seal(first);

        var second = CheckpointFile.Writer(16, first);
        "short"u8.CopyTo(second.GetSpan(5));
        second.Advance(5);

        Assert.Equal("short"u8.ToArray(), CheckpointFile.Open(CheckpointFile.Seal(second).ToArray(), "f").ToArray());
    }

    [Fact]
    public async Task A_published_file_replaces_the_old_one_whole_and_flushes_the_folders_given()
    {
        var store = new DirectoryCheckpointStore(_dir);
        await store.WriteAsync("round-000001/a.part", new byte[] { 9 });
        await store.PublishAsync("round-000001/manifest", new byte[] { 1, 2, 3 }, ["round-000001/", ""]);

        await store.PublishAsync("round-000001/manifest", new byte[] { 4, 5 }, ["round-000001/", ""]);

        Assert.Equal(new byte[] { 4, 5 }, await store.ReadAsync("round-000001/manifest"));
        Assert.Equal(["round-000001/a.part", "round-000001/manifest"], Directory.EnumerateFiles(_dir, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(_dir, f).Replace('\\', '/')).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Publishing_with_a_folder_that_is_not_there_fails_naming_it()
    {
        var store = new DirectoryCheckpointStore(_dir);

        var e = await Assert.ThrowsAsync<IOException>(() => store.PublishAsync("round-000001/manifest", new byte[] { 1 }, ["ended/"]));

        Assert.Contains(Path.Combine(_dir, "ended"), e.Message);
    }
}

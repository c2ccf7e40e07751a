using System.Runtime.InteropServices;

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

    [Fact]
    public void A_file_buffer_starts_its_bytes_on_a_block_boundary_and_keeps_them_when_it_grows()
    {
        var buffer = new FileBuffer(10);
        "abc"u8.CopyTo(buffer.GetSpan(3));
        buffer.Advance(3);

        buffer.GetSpan(1 << 20)[0] = (byte)'d';
        buffer.Advance(1);

        Assert.Equal("abcd"u8.ToArray(), buffer.WrittenMemory.ToArray());
        Assert.True(MemoryMarshal.TryGetArray(buffer.WrittenMemory, out var bytes));
        Assert.Equal(0, Marshal.UnsafeAddrOfPinnedArrayElement(bytes.Array!, bytes.Offset) % FileBuffer.Alignment);
    }

    [Theory]
    [InlineData(true)] // whole blocks straight to the disk, the last 123 bytes through the page cache
    [InlineData(false)] // not on a block boundary: all through the page cache
    public async Task A_big_file_reads_back_whole_from_an_aligned_buffer_or_not(bool aligned)
    {
        var store = new DirectoryCheckpointStore(_dir);
        var payload = new byte[(3 << 20) + 123 - 29];
        new Random(11).NextBytes(payload);
        var writer = CheckpointFile.Writer(payload.Length);
        payload.CopyTo(writer.GetSpan(payload.Length));
        writer.Advance(payload.Length);
        var file = CheckpointFile.Seal(writer);
        if (!aligned) file = file.ToArray().Prepend((byte)0).ToArray().AsMemory(1);

        await store.WriteAsync("round-000001/a.part", file);

        var read = await store.ReadAsync("round-000001/a.part");
        Assert.Equal((3 << 20) + 123, read!.Length);
        Assert.Equal(payload, CheckpointFile.Open(read, "a.part").ToArray());
    }
}

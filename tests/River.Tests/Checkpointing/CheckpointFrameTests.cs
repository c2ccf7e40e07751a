namespace River.Tests.Checkpointing;

/// <summary>A checkpointed run's packet numbers travel in the frame header (kind 7), not among the attributes the receiver sees.</summary>
public sealed class CheckpointFrameTests
{
    private static readonly RiverSerializer Serializer = new();

    [Theory]
    [InlineData(0L, 0L, Frames.PacketKind)]
    [InlineData(0L, 5L, Frames.SequencedKind)]
    [InlineData(7L, 0L, Frames.CheckpointedKind)]
    [InlineData(long.MaxValue, 9L, Frames.CheckpointedKind)]
    public void A_packets_numbers_come_back_from_its_frame_and_its_attributes_stay_as_sent(long checkpointSeq, long mirrorSeq, byte kind)
    {
        var sent = Packet.From(new { tag = "halo", step = 3, value = 1.5 }, VrId.New(), VrId.New());
        sent.CheckpointSeq = checkpointSeq;
        sent.MirrorSeq = mirrorSeq;
        var frame = Frames.Packet(Serializer, sent).ToArray();

        var read = Frames.ReadPacket(Serializer, frame, null);

        Assert.Equal(kind, frame[0]);
        Assert.Equal((checkpointSeq, mirrorSeq), (read.CheckpointSeq, read.MirrorSeq));
        Assert.Equal((sent.Src, sent.Dest), (read.Src, read.Dest));
        Assert.Equal(["src", "dest", "tag", "step", "value"], read.Keys);
        Assert.Equal(["halo", 3, 1.5], read.Values.Skip(2));
    }

    [Fact]
    public void A_numbered_frame_cut_short_is_refused_with_a_precise_exception()
    {
        var sent = Packet.From(new { tag = "halo" }, VrId.New(), VrId.New());
        sent.CheckpointSeq = 1;
        var frame = Frames.Packet(Serializer, sent).ToArray();

        var e = Assert.Throws<InvalidDataException>(() => Frames.ReadPacket(Serializer, frame.AsMemory(0, 12), null));
        Assert.Contains("kind 7 has 12 bytes, fewer than its header's 17", e.Message);
    }
}

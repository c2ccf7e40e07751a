using System.Buffers;
using System.Collections.Concurrent;
using System.Reflection;

namespace River;

/// <summary>
/// One VR's part of a round: the names of its fields (their values follow the part in its file, see
/// <see cref="PartPayload"/>), its queue, how far it got with every other VR (highest sequence queued from
/// each sender, highest sent to each receiver) and the packets it sent that a receiver may not hold yet.
/// <paramref name="Ended"/>: the VR returned from <c>Main</c> after its last checkpoint; such a part stands
/// for every later round and holds only what it sent.
/// </summary>
internal sealed record VrPart(
    Guid Run, VrIdentity Vr, int Number, bool Ended, long Time,
    string[] FieldNames, byte[][] Queue, SeqCount[] Received, SeqCount[] Sent, LoggedPacket[] Log);

/// <summary>A complete round: who took part (their parts are in the round's folder), who had ended, and the run it belongs to.</summary>
internal sealed record RoundManifest(
    Guid Run, int Round, long Time, VrId Initiator, string InitiatorType, VrId[] Participants, VrId[] Ended, long Bytes, DeployRecord[] Deploys);

/// <summary>How a round in a store reads back: <see cref="Complete"/> is one a recovery or <c>--restart</c> can use.</summary>
internal enum RoundState
{
    /// <summary>Its manifest and every part it names read back whole.</summary>
    Complete,

    /// <summary>No manifest (the round was under way, or its home VM died before every part was in); its parts read back whole.</summary>
    Partial,

    /// <summary>A file of it fails its checksum, is missing or cannot be read.</summary>
    Corrupt,
}

/// <summary>A VR of a round: its type (null when its part could not be read) and whether it had ended (its part stands for later rounds).</summary>
internal sealed record RoundVr(VrId Id, string? Type, bool Ended);

/// <summary>
/// A round as <c>river checkpoints</c> lists it: when it completed (a partial one: its newest part), how long from the
/// first part taken to the manifest written, its VRs, the bytes of its files, and why it cannot be used when corrupt.
/// </summary>
internal sealed record RoundSummary(int Round, RoundState State, DateTime? Time, TimeSpan? Took, RoundVr[] Vrs, long Bytes, string? Problem);

/// <summary>
/// A part's payload: the <see cref="VrPart"/>, then its fields' values one after another. The values come last so
/// that a VR's state is serialized once, straight into the buffer that is written as the part's file.
/// </summary>
internal static class PartPayload
{
    /// <summary>The part and its fields' values.</summary>
    /// <exception cref="InvalidDataException">the payload holds no part.</exception>
    public static (VrPart Part, ReadOnlyMemory<byte> Fields) Read(RiverSerializer serializer, ReadOnlyMemory<byte> payload, string name)
    {
        var pos = 0;
        var part = CheckpointFile.Read<VrPart>(serializer, payload, ref pos, name);
        return (part, payload[pos..]);
    }
}

/// <summary>The fields a checkpoint saves: every instance field of a VR's classes below River's, <c>[NonSerialized]</c> ones skipped.</summary>
internal static class VrFields
{
    private static readonly Assembly River = typeof(VirtualResourceBase).Assembly;
    private static readonly ConcurrentDictionary<Type, FieldInfo[]> Cache = new();

    public static FieldInfo[] Of(Type type) => Cache.GetOrAdd(type, static t =>
    {
        var fields = new List<FieldInfo>();
        for (var c = t; c is not null && c.Assembly != River; c = c.BaseType)
            fields.AddRange(c.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
                .Where(f => !Skipped(f)));
        return [.. fields];
    });

    // [NonSerialized] is the contract's marker; reading it is not formatter-based serialization.
#pragma warning disable SYSLIB0050
    private static bool Skipped(FieldInfo f) => f.IsNotSerialized;
#pragma warning restore SYSLIB0050

    public static string NameOf(FieldInfo field) => $"{field.DeclaringType!.Name}.{field.Name}";

    /// <summary>The names of the fields <see cref="Capture"/> writes, in its order.</summary>
    public static string[] NamesOf(Type type) => [.. Of(type).Select(NameOf)];

    /// <summary>
    /// About how many bytes <see cref="Capture"/> writes, so the buffer it writes to is allocated once: arrays of
    /// primitives (the bulk of a big state) by their size, anything else by a guess (the buffer grows if it was short).
    /// </summary>
    public static long SizeOf(VirtualResourceBase vr)
    {
        var size = 0L;
        foreach (var f in Of(vr.GetType()))
            size += 16 + f.GetValue(vr) switch
            {
                Array a when a.GetType().GetElementType()!.IsPrimitive => Buffer.ByteLength(a),
                string s => 3L * s.Length,
                _ => 64,
            };
        return size;
    }

    /// <summary>Writes the fields' values to <paramref name="output"/>, one serialized value after another.</summary>
    /// <exception cref="UnsupportedValueException">a field's value cannot be carried; it names the field.</exception>
    public static void Capture(RiverSerializer serializer, VirtualResourceBase vr, IBufferWriter<byte> output)
    {
        foreach (var f in Of(vr.GetType())) serializer.WriteValue(output, NameOf(f), f.GetValue(vr));
    }

    /// <summary>Sets the fields of <paramref name="vr"/> from a capture; a field the class no longer has is an error.</summary>
    public static void Restore(RiverSerializer serializer, VirtualResourceBase vr, string[] names, ReadOnlyMemory<byte> values)
    {
        var byName = Of(vr.GetType()).ToDictionary(NameOf);
        var pos = 0;
        foreach (var name in names)
        {
            var value = serializer.ReadValue(values, ref pos);
            if (!byName.TryGetValue(name, out var field))
                throw new InvalidDataException($"The checkpoint holds field {name}, which {vr.GetType().FullName} does not have (was the program changed?).");
            field.SetValue(vr, value);
        }
    }
}

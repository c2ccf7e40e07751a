using System.Buffers;
using MessagePack;

namespace River.Tests.Security;

/// <summary>A program's own exception type: programs may send their types, never an exception.</summary>
public sealed class ProgramFailure(string message) : Exception(message);

/// <summary>
/// River's types travel by an explicit list and public members only; nothing else of River's, and no
/// exception of anybody's, is built from bytes (in-process; the VM test is <see cref="AllowListVmTests"/>).
/// </summary>
public class AllowListTests
{
    private readonly RiverSerializer _serializer = Serialization.SerializerRoundTripTests.NewSerializer();

    public static TheoryData<string> ForbiddenNames() =>
    [
        typeof(Mailbox).AssemblyQualifiedName!,
        typeof(HandshakeException).AssemblyQualifiedName!,
        typeof(VrContext).AssemblyQualifiedName!,
        typeof(Exception).AssemblyQualifiedName!,
        typeof(InvalidOperationException).AssemblyQualifiedName!,
        typeof(ProgramFailure).AssemblyQualifiedName!,
        typeof(List<Mailbox>).AssemblyQualifiedName!,
        typeof(Exception[]).AssemblyQualifiedName!,
    ];

    [Theory]
    [MemberData(nameof(ForbiddenNames))]
    public void A_value_of_a_forbidden_type_is_refused_top_level_nested_and_in_a_packet(string name)
    {
        Assert.Contains("allow-list", Assert.Throws<TypeAccessException>(() => _serializer.ReadValue(HostileValues.Named(name, HostileValues.EmptyMap))).Message);
        var nested = Assert.Throws<MessagePackSerializationException>(() => _serializer.ReadValue(HostileValues.Nested([name], HostileValues.EmptyMap)));
        Assert.Contains("allow-list", nested.GetBaseException().Message);
        var packet = HostileValues.Packet(Guid.NewGuid(), [HostileValues.Named(name, HostileValues.EmptyMap)]);
        Assert.Throws<TypeAccessException>(() => _serializer.ReadPacket(packet));
    }

    [Fact]
    public void Exceptions_and_River_internals_cannot_be_sent_either()
    {
        Assert.Throws<UnsupportedValueException>(() => _serializer.WriteValue(new ArrayBufferWriter<byte>(), "e", new ProgramFailure("no")));
        Assert.Throws<UnsupportedValueException>(() => _serializer.WriteValue(new ArrayBufferWriter<byte>(), "e", new InvalidOperationException("no")));
        Assert.Throws<UnsupportedValueException>(() => _serializer.WriteValue(new ArrayBufferWriter<byte>(), "h", new HandshakeException("no")));
    }

    [Fact]
    public void Control_messages_round_trip_through_their_public_members()
    {
        var info = new VmInfo(VmId.New(), "h", 7, new Dictionary<string, object?> { ["cores"] = 2, ["role"] = "vm" });
        object[] messages =
        [
            new Announce(info), new Members([info]), new Goodbye(info.Id), new StatusRequest(),
            new StatusReply(new VmStatus(info, [new VrStatus(VrId.New(), "T", null, 3)], [new LinkStatus(info.Id, "connected", 1, 2, 3, 4, 5, 6)], 1, 2, 3, [info],
                [new FailureReport(DateTimeOffset.UnixEpoch, FailureKind.VmLost, info.Id.ToString(), "gone")])),
            new DeployRequest(5, VrId.New(), "T", VrId.New(), ["a"], [1, 2], Guid.NewGuid(), [new CodeRef("App", "AB")]),
            new DeployReply(5, null, ["AB"]), new CodeUpload("AB", [1]), new Lookup(VrId.New()), new LookupReply(VrId.New(), true),
            new KillRequest(VrId.New()), new KillReply(VrId.New(), false),
        ];
        foreach (var message in messages)
        {
            var buffer = new ArrayBufferWriter<byte>();
            _serializer.WriteValue(buffer, "m", message);
            Assert.Equivalent(message, _serializer.ReadValue(buffer.WrittenMemory), strict: true);
        }
    }

    [Fact]
    public void A_wire_type_sets_nothing_but_its_constructor_takes()
    {
        // A peer naming the compiler's backing field of Goodbye.Id: ignored, the constructor's Id stays.
        var id = Guid.NewGuid();
        var bytes = HostileValues.Named(typeof(Goodbye).AssemblyQualifiedName!, (ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(2);
            w.Write("Id");
            IdFormatters.WriteGuid(ref w, id);
            w.Write("<Id>k__BackingField");
            IdFormatters.WriteGuid(ref w, Guid.NewGuid());
        });
        Assert.Equal(new Goodbye(new VmId(id)), _serializer.ReadValue(bytes));
    }

    [Fact]
    public void River_types_off_the_list_have_no_formatter_even_if_their_name_got_through()
    {
        var formatter = _serializer.Options.Resolver.GetFormatter<HandshakeException>()!;
        var bytes = Cluster.MalformedInputs.Msgpack(HostileValues.EmptyMap);
        Assert.Throws<MessagePackSerializationException>(() =>
        {
            var reader = new MessagePackReader(bytes);
            formatter.Deserialize(ref reader, _serializer.Options);
        });
    }
}

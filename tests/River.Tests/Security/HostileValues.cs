using MessagePack;
using River.Tests.Cluster;

namespace River.Tests.Security;

/// <summary>Values as a peer holding the cluster key could write them, bypassing the sender's own checks.</summary>
internal static class HostileValues
{
    /// <summary>A spelling of System.Int32 that Type.GetType accepts and that differs for every <paramref name="n"/>.</summary>
    public static string Int32Spelling(int n) => $"System.Int32, System.Private.CoreLib, Version=0.0.{n / 65_000}.{n % 65_000}";

    /// <summary>A value as RiverSerializer writes one: the type's name, then its body.</summary>
    public static byte[] Named(string typeName, MalformedInputs.WriteBody body) => MalformedInputs.Msgpack((ref MessagePackWriter w) =>
    {
        w.Write(typeName);
        body(ref w);
    });

    /// <summary>An object[] whose elements name their types the way MessagePack's typeless format does (extension 100).</summary>
    public static byte[] Nested(IEnumerable<string> typeNames, MalformedInputs.WriteBody body)
    {
        var names = typeNames.ToList();
        return MalformedInputs.Msgpack((ref MessagePackWriter w) =>
        {
            w.Write(typeof(object[]).AssemblyQualifiedName);
            w.WriteArrayHeader(names.Count);
            foreach (var name in names)
            {
                var element = MalformedInputs.Msgpack((ref MessagePackWriter e) =>
                {
                    e.Write(name);
                    body(ref e);
                });
                w.WriteExtensionFormat(new ExtensionResult(100, element));
            }
        });
    }

    /// <summary>A packet body (no kind byte) to <paramref name="dest"/> whose attribute values are <paramref name="values"/>, each already written.</summary>
    public static byte[] Packet(Guid dest, IReadOnlyList<byte[]> values) => MalformedInputs.Msgpack((ref MessagePackWriter w) =>
    {
        IdFormatters.WriteGuid(ref w, Guid.NewGuid());
        IdFormatters.WriteGuid(ref w, dest);
        w.Write(values.Count);
        for (var i = 0; i < values.Count; i++)
        {
            w.Write("a" + i);
            w.WriteRaw(values[i]);
        }
    });

    public static void EmptyMap(ref MessagePackWriter w) => w.WriteMapHeader(0);

    public static void Five(ref MessagePackWriter w) => w.Write(5);
}

using System.Collections;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Dynamic;

namespace River;

/// <summary>
/// An immutable, ordered set of (attribute, value) pairs: the unit of super flexible messaging.
/// <c>src</c> and <c>dest</c> are attributes too, set by the runtime.
/// </summary>
/// <example><code>
/// var p = Recv(new { tag = "result" });
/// double v = p.Get&lt;double&gt;("value");   // or: double v = p.Dynamic.value;
/// </code></example>
public sealed class Packet : IReadOnlyDictionary<string, object?>
{
    /// <summary>The attribute the runtime sets to the sender's id.</summary>
    public const string SrcAttribute = "src";

    /// <summary>The attribute that names the receiver.</summary>
    public const string DestAttribute = "dest";

    /// <summary>
    /// The reserved attribute that carries <see cref="TraceParent"/> between VMs (W3C <c>traceparent</c>); the receiving VM
    /// takes it out, so a VR never sees it among the attributes, and a send that names it is refused.
    /// </summary>
    public const string TraceAttribute = "river.trace";

    /// <summary>The reserved attribute that carries <see cref="TraceState"/> (W3C <c>tracestate</c>), when there is one.</summary>
    public const string TraceStateAttribute = "river.tracestate";

    // Names may be shared with other packets (one array per anonymous type); never mutated.
    internal readonly string[] AttributeNames;
    internal readonly object?[] AttributeValues;

    // The receiving mailbox's links: a packet is queued once, in one mailbox, so it is its own queue node.
    internal Packet? QueuePrev, QueueNext, InboundNext;
    internal bool Dequeued;

    // Flow control: what the packet counts against its receiver's queue limit, and whom to credit when it is taken.
    internal int QueueCost;
    internal CreditLedger? Ledger;

    // Mirroring (see Mirroring/): the packet's number in its (src, dest) stream when either end is a mirrored VR, else 0;
    // and in a replica's queue, its position in the mirror group's log (how recorded outcomes name it).
    internal long MirrorSeq, MirrorPosition;

    // Checkpointing (see Checkpointing/): the packet's number in its (src, dest) stream in a checkpointed run, else 0.
    // In the header and the frame, not an attribute, so numbering a packet copies nothing.
    internal long CheckpointSeq;

    // The trace context the packet carries (Diagnostics/PacketTracing.cs); null for nearly every packet.
    internal PacketTrace? Trace;

    // A numbered packet's frame as it arrived, valid only while its arrival is handled: a primary logs these bytes as
    // they are instead of writing the packet again (MirrorGroup copies them, then clears this).
    internal ReadOnlyMemory<byte> ArrivedFrame;

    // True when River read the packet's last value, a big byte[], from the network into an array of its own, which
    // Recycle may give back (a flag, not a reference: it fits in the object's padding, so a packet costs no byte more).
    internal bool Recyclable;

    internal Packet(VrId src, VrId dest, string[] names, object?[] values)
    {
        Src = src;
        Dest = dest;
        AttributeNames = names;
        AttributeValues = values;
    }

    /// <summary>Builds a packet from an anonymous object, a dictionary or another packet (whose user attributes are copied).</summary>
    public static Packet From(object attributes, VrId src = default, VrId dest = default)
    {
        AttributeReader.Read(attributes, out var names, out var values, out var destAttr);
        return new Packet(src, destAttr ?? dest, names, values);
    }

    /// <summary>The sender.</summary>
    public VrId Src { get; }

    /// <summary>The receiver.</summary>
    public VrId Dest { get; }

    /// <summary>
    /// The W3C <c>traceparent</c> of the span the packet was sent in: River's <c>river.send</c> span when something listens to
    /// <see cref="RiverMetrics.ActivitySourceName"/>, else the sender's own <see cref="Activity.Current"/>; null when neither was there.
    /// </summary>
    public string? TraceParent => Trace?.Parent;

    /// <summary>The W3C <c>tracestate</c> that came with <see cref="TraceParent"/>, if any.</summary>
    public string? TraceState => Trace?.State;

    /// <summary>
    /// <see cref="TraceParent"/> and <see cref="TraceState"/> as a remote parent for the receiver's own spans; <c>default</c>
    /// when the packet carries none (or one that is not valid W3C).
    /// </summary>
    /// <example><code>
    /// var p = Recv(new { tag = "job" });
    /// using var span = MySource.StartActivity("job", ActivityKind.Consumer, p.TraceContext);   // same trace as the sender's
    /// </code></example>
    public ActivityContext TraceContext => Trace?.Context ?? default;

    /// <summary>The number of attributes, <c>src</c> and <c>dest</c> included.</summary>
    public int Count => AttributeNames.Length + 2;

    /// <summary>The attribute names, <c>src</c> and <c>dest</c> first.</summary>
    public IEnumerable<string> Keys => this.Select(kv => kv.Key);

    /// <summary>The attribute values in the order of <see cref="Keys"/>.</summary>
    public IEnumerable<object?> Values => this.Select(kv => kv.Value);

    /// <summary>The value of an attribute; <see cref="KeyNotFoundException"/> naming it when absent.</summary>
    public object? this[string name] => TryGetValue(name, out var v) ? v : throw Missing(name);

    /// <inheritdoc />
    public bool ContainsKey(string key) => TryGetValue(key, out _);

    /// <inheritdoc />
    public bool TryGetValue(string key, out object? value)
    {
        ArgumentNullException.ThrowIfNull(key);
        var i = IndexOf(key);
        if (i >= 0)
        {
            value = AttributeValues[i];
            return true;
        }
        switch (key)
        {
            case SrcAttribute: value = Src; return true;
            case DestAttribute: value = Dest; return true;
            default: value = null; return false;
        }
    }

    internal int IndexOf(string key)
    {
        var names = AttributeNames;
        for (var i = 0; i < names.Length; i++)
            if (string.Equals(names[i], key, StringComparison.Ordinal)) return i;
        return -1;
    }

    /// <summary>The value of attribute <paramref name="name"/> as <typeparamref name="T"/>.</summary>
    /// <exception cref="KeyNotFoundException">the packet has no such attribute (the message names it and lists those present).</exception>
    /// <exception cref="InvalidCastException">the value is not a <typeparamref name="T"/> (the message names the attribute and both types).</exception>
    public T Get<T>(string name)
    {
        if (!TryGetValue(name, out var value)) throw Missing(name);
        return value switch
        {
            T t => t,
            null when default(T) is null => default!,
            _ => throw new InvalidCastException(
                $"Attribute '{name}' holds {(value is null ? "null" : value.GetType().FullName)}, not {typeof(T).FullName}."),
        };
    }

    /// <summary>True and the value when the attribute is present and is a <typeparamref name="T"/>.</summary>
    public bool TryGet<T>(string name, [MaybeNullWhen(false)] out T value)
    {
        if (TryGetValue(name, out var v) && (v is T || (v is null && default(T) is null)))
        {
            value = (T)v!;
            return true;
        }
        value = default;
        return false;
    }

    /// <summary>
    /// Optional, for streams of big binary or numeric values: says the VR is done with this packet, so River may fill the
    /// array of its big value (a <c>byte[]</c>, <c>double[]</c>, <c>int[]</c>, ... received from another VM, 64 KiB or more,
    /// the packet's last attribute) with a later packet's bytes instead of allocating a new one. Use none of the packet's
    /// array values afterwards.
    /// A packet never recycled keeps its arrays, as the VR owns them; on any other packet, or a second time, this does nothing.
    /// </summary>
    /// <example><code>
    /// var p = Recv(new { tag = "block" });
    /// Consume(p.Get&lt;byte[]&gt;("data"));
    /// p.Recycle();   // the next block of that size arrives in this array
    /// </code></example>
    public void Recycle()
    {
        if (!Recyclable) return;
        Recyclable = false;
        ArrayRecycler.Give((Array)AttributeValues[^1]!);
    }

    /// <summary>Attribute access by member name: <c>p.Dynamic.value</c>.</summary>
    public dynamic Dynamic => new DynamicView(this);

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        yield return new(SrcAttribute, Src);
        yield return new(DestAttribute, Dest);
        for (var i = 0; i < AttributeNames.Length; i++) yield return new(AttributeNames[i], AttributeValues[i]);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc />
    public override string ToString() => "{" + string.Join(", ", this.Select(kv => $"{kv.Key}={kv.Value ?? "null"}")) + "}";

    private KeyNotFoundException Missing(string name) =>
        new($"Packet has no attribute '{name}'; it has: {string.Join(", ", Keys)}.");

    private sealed class DynamicView(Packet packet) : DynamicObject
    {
        public override bool TryGetMember(GetMemberBinder binder, out object? result)
        {
            if (packet.TryGetValue(binder.Name, out result)) return true;
            throw packet.Missing(binder.Name);
        }

        public override IEnumerable<string> GetDynamicMemberNames() => packet.Keys;
    }
}

using MessagePack;

namespace River;

/// <summary>MessagePack options whose type loading and instantiation go through a <see cref="TypeAllowList"/>.</summary>
internal sealed class RiverSerializerOptions : MessagePackSerializerOptions
{
    public RiverSerializerOptions(IFormatterResolver resolver, TypeAllowList allowList, Func<string, Type> typeLoader)
        : base(resolver)
    {
        AllowList = allowList;
        TypeLoader = typeLoader;
    }

    private RiverSerializerOptions(RiverSerializerOptions copyFrom) : base(copyFrom)
    {
        AllowList = copyFrom.AllowList;
        TypeLoader = copyFrom.TypeLoader;
    }

    public TypeAllowList AllowList { get; }

    /// <summary>Resolves a type name from the wire (for <c>object</c> members nested in values); throws to refuse one.</summary>
    public Func<string, Type> TypeLoader { get; }

    // Never null: on null MessagePack 2.5's TypelessFormatter tries Type.GetType itself (any assembly, any
    // spelling) and caches what it finds in a static table keyed by spelling. Throwing stops both.
    public override Type? LoadType(string typeName) => TypeLoader(typeName);

    protected override void ThrowIfDeserializingTypeIsDisallowedCore(Type type)
    {
        if (!AllowList.IsAllowedCore(type))
            throw new TypeAccessException($"Type '{type.FullName}' is not on this cluster's allow-list; the frame is refused.");
    }

    protected override MessagePackSerializerOptions Clone() => new RiverSerializerOptions(this);
}

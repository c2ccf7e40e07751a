using System.Collections.Concurrent;
using System.Linq.Expressions;
using System.Reflection;

namespace River;

/// <summary>Creates VR instances through a compiled parameterless constructor, checked once per type.</summary>
internal static class VrFactory
{
    private static readonly ConcurrentDictionary<Type, Func<VirtualResourceBase>> Factories = new();

    /// <summary>Throws a precise <see cref="ArgumentException"/> when <paramref name="type"/> cannot be a VR.</summary>
    public static void Check(Type type) => _ = FactoryFor(type);

    public static VirtualResourceBase Create(Type type) => FactoryFor(type)();

    private static Func<VirtualResourceBase> FactoryFor(Type type) => Factories.TryGetValue(type, out var f) ? f : Factories.GetOrAdd(type, Build(type));

    private static Func<VirtualResourceBase> Build(Type type)
    {
        if (!typeof(VirtualResource).IsAssignableFrom(type) && !typeof(AsyncVirtualResource).IsAssignableFrom(type))
            throw new ArgumentException($"Cannot deploy {type.FullName}: it is not a VirtualResource or an AsyncVirtualResource.");
        if (type.IsAbstract || type.ContainsGenericParameters)
            throw new ArgumentException($"Cannot deploy {type.FullName}: it is abstract or an open generic type.");
        var ctor = type.GetConstructor(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic, Type.EmptyTypes)
            ?? throw new ArgumentException(
                $"Cannot deploy {type.FullName}: it has no parameterless constructor. River creates a VR with one and hands Deploy's arguments over as DeployArgs.");
        return Expression.Lambda<Func<VirtualResourceBase>>(Expression.New(ctor)).Compile();
    }
}

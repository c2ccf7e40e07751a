using System.Reflection;
using System.Runtime.CompilerServices;

namespace River;

/// <summary>
/// A delegate as a value: its method by metadata token (the code itself travels as the program's assembly,
/// shipped by River's deploy) and the values it captured, by field name.
/// </summary>
/// <param name="Token">the method's metadata token in its module.</param>
/// <param name="Captures">the fields of the delegate's target (a lambda's closure); null for a static method or a lambda that captures nothing.</param>
public sealed record ShippedCode(int Token, Dictionary<string, object?>? Captures)
{
    /// <summary>
    /// The type whose assembly carries the code: the outermost type declaring the method, so the
    /// compiler's names for lambdas and closures never have to travel.
    /// </summary>
    internal static Type Anchor(Delegate f)
    {
        var t = f.Method.DeclaringType ?? throw new ArgumentException("A function with no declaring type (a dynamic method) cannot be shipped.");
        while (t.DeclaringType is { } outer) t = outer;
        if (t.ContainsGenericParameters || f.Method.DeclaringType!.ContainsGenericParameters || f.Method.IsGenericMethod)
            throw new ArgumentException($"{f.Method.Name} is declared in a generic type or method; ship a function declared in non-generic code.");
        return t;
    }

    /// <summary>The delegate <paramref name="f"/> as a value; its captured values must be ones River carries.</summary>
    internal static ShippedCode Of(Delegate f)
    {
        if (f.GetInvocationList().Length > 1) throw new ArgumentException("A multicast delegate cannot be shipped; ship one function.");
        var target = f.Target;
        if (target is null || f.Method.IsStatic) return new ShippedCode(f.Method.MetadataToken, null);
        // Fields of delegate type are the compiler's caches of lambdas made in a loop: not state, and not carried.
        var fields = target.GetType().GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic).Where(x => !typeof(Delegate).IsAssignableFrom(x.FieldType)).ToArray();
        if (fields.Length == 0) return new ShippedCode(f.Method.MetadataToken, null);
        if (target.GetType().GetCustomAttribute<CompilerGeneratedAttribute>() is null)
            throw new ArgumentException($"{f.Method.Name} is an instance method of {target.GetType().Name}; ship a lambda or a static method (an object is sent with Inject).");
        return new ShippedCode(f.Method.MetadataToken, fields.ToDictionary(x => x.Name, x => x.GetValue(target)));
    }

    /// <summary>On the VM that runs it: the method, in the module that carries the program's code there.</summary>
    internal MethodInfo Method(Module module) =>
        module.ResolveMethod(Token) as MethodInfo ?? throw new ArgumentException($"Token {Token} names no method of {module.Name}.");

    /// <summary>On the VM that runs it: a target for <paramref name="method"/> rebuilt from the captured values.</summary>
    internal object? Target(MethodInfo method)
    {
        if (method.IsStatic) return null;
        var type = method.DeclaringType!;
        var target = RuntimeHelpers.GetUninitializedObject(type);
        foreach (var (name, value) in Captures ?? [])
            (type.GetField(name, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
                ?? throw new ArgumentException($"{type.Name} has no field {name}: the VM runs other code than the caller.")).SetValue(target, value);
        return target;
    }
}

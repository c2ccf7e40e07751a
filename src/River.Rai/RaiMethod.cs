using System.Reflection;
using System.Runtime.CompilerServices;

namespace River;

/// <summary>How a remote method returns: blocking, or one of the awaitable shapes.</summary>
internal enum RaiReturn
{
    Value,
    Void,
    Task,
    TaskOf,
    ValueTask,
    ValueTaskOf,
}

/// <summary>One method of a remote interface: its number on the wire and how its result is carried both ways.</summary>
internal sealed class RaiMethod
{
    // Delegates made once per method from generic helpers: a call's result is then carried without reflection.
    private readonly Func<Task, object?>? _result;            // Task<T>.Result, read on the host once the task completed
    private readonly Func<object, Task>? _asTask;             // ValueTask<T>.AsTask, on the host
    private readonly Func<IRaiCall> _newCall = NewCallOf<object?>; // the caller's call, typed by the result for Task<T> and ValueTask<T>

    public RaiMethod(int number, MethodInfo method)
    {
        if (method.IsGenericMethodDefinition)
            throw new NotSupportedException($"{method.DeclaringType!.Name}.{method.Name} is generic: remote methods are not (their type arguments could not be checked on the host).");
        if (method.GetParameters().FirstOrDefault(p => p.ParameterType.IsByRef) is { } byRef)
            throw new NotSupportedException($"{method.DeclaringType!.Name}.{method.Name} takes '{byRef.Name}' by reference: remote methods take values only.");
        Number = number;
        Info = method;
        Invoker = MethodInvoker.Create(method);
        Arity = method.GetParameters().Length;
        var r = method.ReturnType;
        var open = r.IsGenericType ? r.GetGenericTypeDefinition() : null;
        Return = r == typeof(void) ? RaiReturn.Void
            : r == typeof(Task) ? RaiReturn.Task
            : r == typeof(ValueTask) ? RaiReturn.ValueTask
            : open == typeof(Task<>) ? RaiReturn.TaskOf
            : open == typeof(ValueTask<>) ? RaiReturn.ValueTaskOf
            : RaiReturn.Value;
        if (Return is RaiReturn.TaskOf or RaiReturn.ValueTaskOf)
        {
            var t = r.GetGenericArguments()[0];
            _result = Helper(nameof(ResultOfTask), t).CreateDelegate<Func<Task, object?>>();
            _newCall = Helper(nameof(NewCallOf), t).CreateDelegate<Func<IRaiCall>>();
            if (Return == RaiReturn.ValueTaskOf) _asTask = Helper(nameof(AsTask), t).CreateDelegate<Func<object, Task>>();
        }
    }

    public int Number { get; }

    public MethodInfo Info { get; }

    /// <summary>Calls the method on the host without an argument array for up to four arguments (a reflection call made once per method, not checked again each time).</summary>
    public MethodInvoker Invoker { get; }

    public RaiReturn Return { get; }

    /// <summary>How many arguments the method takes.</summary>
    public int Arity { get; }

    /// <summary>True when the caller gets an awaitable back and is not blocked.</summary>
    public bool IsAsync => Return is not (RaiReturn.Value or RaiReturn.Void);

    /// <summary>On the caller's side: a new call of this method, whose task is what the proxy hands out.</summary>
    public IRaiCall NewCall() => _newCall();

    /// <summary>On the caller's side: what the proxy of an awaitable method returns for a call under way.</summary>
    public object Returned(IRaiCall call) => Return switch
    {
        RaiReturn.ValueTask => new ValueTask(call.Task),
        RaiReturn.ValueTaskOf => call.AsValueTask(),
        _ => call.Task,
    };

    /// <summary>On the host: the awaitable a method returned, as a task; null for a blocking method.</summary>
    public Task? Pending(object? returned) => Return switch
    {
        RaiReturn.Task or RaiReturn.TaskOf => (Task)returned!,
        RaiReturn.ValueTask => ((ValueTask)returned!).AsTask(),
        RaiReturn.ValueTaskOf => _asTask!(returned!),
        _ => null,
    };

    /// <summary>On the host: the value of a completed task from <see cref="Pending"/>.</summary>
    public object? ResultOf(Task done) => _result?.Invoke(done);

    private static MethodInfo Helper(string name, Type t) =>
        typeof(RaiMethod).GetMethod(name, BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(t);

    private static IRaiCall NewCallOf<T>() => new RaiCall<T>();

    private static object? ResultOfTask<T>(Task done) => ((Task<T>)done).Result;

    private static Task AsTask<T>(object returned) => ((ValueTask<T>)returned).AsTask();
}

/// <summary>
/// A remote interface's methods, numbered the same way on every VM (the interface first, then the interfaces
/// it extends by name; each in metadata order), so a call names its method by a small number.
/// </summary>
internal sealed class RaiInterface
{
    // Weakly keyed: an interface from a program's shipped code must not keep that code loaded.
    private static readonly ConditionalWeakTable<Type, RaiInterface> Known = new();

    private readonly Dictionary<MethodInfo, RaiMethod> _byInfo = [];

    private RaiInterface(Type type)
    {
        if (!type.IsInterface) throw new ArgumentException($"{type.FullName} is not an interface: a remote object is called through an interface it implements.");
        Type = type;
        var all = type.GetInterfaces().Where(i => i != typeof(IDisposable) && i != typeof(IAsyncDisposable)).OrderBy(i => i.FullName, StringComparer.Ordinal).Prepend(type)
            .SelectMany(i => i.GetMethods().OrderBy(m => m.MetadataToken)).ToList();
        if (all.Count > 1 << RaiEndpoint.MethodBits)
            throw new NotSupportedException($"{type.FullName} has {all.Count:N0} methods: a remote interface has at most {1 << RaiEndpoint.MethodBits:N0} (a call's id carries the method's number in {RaiEndpoint.MethodBits} bits).");
        Methods = [.. all.Select((m, n) => new RaiMethod(n, m))];
        foreach (var m in Methods) _byInfo[m.Info] = m;
    }

    public Type Type { get; }

    public IReadOnlyList<RaiMethod> Methods { get; }

    public static RaiInterface Of(Type type) => Known.GetValue(type, static t => new RaiInterface(t));

    public RaiMethod this[MethodInfo method] => _byInfo[method];
}

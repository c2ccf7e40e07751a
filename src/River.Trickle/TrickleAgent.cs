using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.ExceptionServices;

namespace River;

/// <summary>What Trickle puts on each VM to run shipped functions (a Rai object).</summary>
public interface ITrickleAgent
{
    /// <summary>Runs <paramref name="code"/> with <paramref name="args"/> on a thread of its own here; completes with its result.</summary>
    Task<object?> Run(ShippedCode code, object?[] args);
}

/// <summary>
/// Runs the functions of the program whose assembly holds <typeparamref name="TAnchor"/>: deploying this
/// type ships that program's code to the VM (River ships a generic VR's type arguments' code).
/// </summary>
internal sealed class TrickleAgent<TAnchor>(VmInfo vm) : ITrickleAgent
{
    // A function that captures nothing gets one target; captured values differ from call to call.
    private readonly ConcurrentDictionary<int, (MethodInfo Method, object? Target)> _resolved = new();

    // A thread of its own per call, not the thread pool: shipped work is coarse and may block, and blocked pool
    // threads starve the VM's own loops (the pool adds threads slowly).
    public Task<object?> Run(ShippedCode code, object?[] args) => Task.Factory.StartNew(() =>
    {
        var (method, target) = _resolved.GetOrAdd(code.Token, static (_, c) =>
        {
            var m = c.Method(typeof(TAnchor).Module);
            return (m, c.Target(m));
        }, code);
        if (code.Captures is not null) target = code.Target(method);
        Trickle.Here = vm;
        try
        {
            return method.Invoke(target, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is { } inner)
        {
            ExceptionDispatchInfo.Throw(inner);
            throw;
        }
        finally
        {
            Trickle.Here = null;
        }
    }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
}

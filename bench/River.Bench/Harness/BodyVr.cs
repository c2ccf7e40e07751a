using System.Collections.Concurrent;

namespace River.Bench;

/// <summary>
/// A thread VR whose body is a delegate, so one class serves every scenario. The delegate travels
/// as a number in DeployArgs: River copies deploy arguments, and an int is passed as is.
/// </summary>
internal sealed class BodyVr : VirtualResource
{
    private static readonly ConcurrentDictionary<int, Action<VirtualResource>> Bodies = new();
    private static int s_next;

    /// <summary>Starts <paramref name="body"/> as a VR on <paramref name="vm"/>; the task ends with its result or failure.</summary>
    public static Task<T> Start<T>(RiverVm vm, Func<VirtualResource, T> body, out VrId id)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var key = Interlocked.Increment(ref s_next);
        Bodies[key] = vr =>
        {
            try
            {
                done.TrySetResult(body(vr));
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        };
        id = vm.Start<BodyVr>(null, key);
        return done.Task;
    }

    protected override void Main()
    {
        if (Bodies.TryRemove((int)DeployArgs[0]!, out var body)) body(this);
    }
}

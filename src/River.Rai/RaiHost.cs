using System.Reflection;

namespace River;

/// <summary>
/// The VR that serves one object: it runs the calls that arrive, blocking methods one at a time in arrival
/// order (as the object would see them locally from one thread) and awaitable ones as they complete, so any
/// number can be under way. It ends when the object is released or its owner (the VR that created or exposed
/// it, its parent) ends; the object is disposed then if it is disposable.
/// </summary>
internal abstract class RaiHost : AsyncVirtualResource
{
    /// <summary>Makes the object served and names the interface it is called through.</summary>
    protected abstract (object Target, RaiInterface Interface) Open();

    /// <summary>The call number the creator waits on for the object to be made; 0 when nobody waits.</summary>
    protected abstract long ReadyId { get; }

    protected override async Task MainAsync(CancellationToken stop)
    {
        Monitor(Parent!.Value);
        object target;
        RaiInterface face;
        try
        {
            (target, face) = Open();
        }
        catch (Exception e)
        {
            ReplyError(Parent.Value, ReadyId, e is TargetInvocationException { InnerException: { } inner } ? inner : e);
            throw;
        }
        if (ReadyId != 0) Send(Parent.Value, new { tag = "rai.ret", id = ReadyId, value = (object?)null });
        try
        {
            while (true)
            {
                var p = await RecvAsync(cancel: stop);
                p.TryGet<string>("tag", out var tag);
                if (tag == "rai.call") Run(target, face, p);
                else if (tag == "rai.release" || (tag == "river.down" && p.Src == Parent)) return;
            }
        }
        finally
        {
            switch (target)
            {
                case IAsyncDisposable a: await a.DisposeAsync(); break;
                case IDisposable d: d.Dispose(); break;
            }
        }
    }

    private void Run(object target, RaiInterface face, Packet p)
    {
        var id = p.Get<long>("id");
        var n = (int)(id & ((1 << RaiEndpoint.MethodBits) - 1));
        if (n >= face.Methods.Count)
        {
            ReplyError(p.Src, id, new MissingMethodException($"{face.Type.FullName} has no method number {n} (the caller has another version of the interface)."));
            return;
        }
        var method = face.Methods[n];
        object? returned;
        try
        {
            returned = method.Arity switch
            {
                0 => method.Invoker.Invoke(target),
                1 => method.Invoker.Invoke(target, p["a0"]),
                2 => method.Invoker.Invoke(target, p["a0"], p["a1"]),
                3 => method.Invoker.Invoke(target, p["a0"], p["a1"], p["a2"]),
                _ => method.Invoker.Invoke(target, p.Get<object?[]>("args")),
            };
        }
        catch (Exception e)
        {
            ReplyError(p.Src, id, e is TargetInvocationException { InnerException: { } inner } ? inner : e);
            return;
        }
        var task = method.Pending(returned);
        if (task is null) Send(p.Src, new { tag = "rai.ret", id, value = returned });
        else if (task.IsCompletedSuccessfully) Send(p.Src, new { tag = "rai.ret", id, value = method.ResultOf(task) }); // no hop for what is done
        else _ = ReplyWhenDone(p.Src, id, method, task);
    }

    private async Task ReplyWhenDone(VrId caller, long id, RaiMethod method, Task task)
    {
        try
        {
            try
            {
                await task.ConfigureAwait(false);
            }
            catch (Exception e)
            {
                ReplyError(caller, id, e);
                return;
            }
            Send(caller, new { tag = "rai.ret", id, value = method.ResultOf(task) });
        }
        catch (Exception)
        {
            // This host ended meanwhile (its packets go nowhere); the caller learns that from its monitor.
        }
    }

    private void ReplyError(VrId caller, long id, Exception e) =>
        Send(caller, new { tag = "rai.err", id, type = e.GetType().FullName ?? e.GetType().Name, message = e.Message, stack = e.StackTrace });
}

/// <summary>Serves an object this VM makes: <c>DeployArgs</c> are the interface's name, the call number its creator waits on and the constructor's arguments.</summary>
internal sealed class RaiHost<TImpl> : RaiHost
    where TImpl : class
{
    protected override long ReadyId => (long)DeployArgs[1]!;

    protected override (object Target, RaiInterface Interface) Open()
    {
        var name = (string)DeployArgs[0]!;
        var face = typeof(TImpl).GetInterfaces().FirstOrDefault(i => i.FullName == name)
            ?? throw new ArgumentException($"{typeof(TImpl).FullName} does not implement {name}.");
        return (Activator.CreateInstance(typeof(TImpl), (object?[])DeployArgs[2]!)!, RaiInterface.Of(face));
    }
}

/// <summary>Serves an object that already exists on the owner's VM.</summary>
internal sealed class RaiExposedHost(object target, RaiInterface face) : RaiHost
{
    protected override long ReadyId => 0;

    protected override (object Target, RaiInterface Interface) Open() => (target, face);
}

using System.Reflection;

namespace River;

/// <summary>
/// The base of every proxy <see cref="DispatchProxy"/> makes for a remote interface: a call becomes a packet
/// to the object's host through the caller's endpoint.
/// </summary>
public class RaiProxy : DispatchProxy, IDisposable, IAsyncDisposable
{
    private RaiEndpoint _endpoint = null!;
    private RaiTarget _target = null!;
    private RaiInterface _interface = null!;
    private int _disposed;

    /// <summary>The VR that serves the object.</summary>
    public VrId Host => _target.Host;

    internal static T Create<T>(RaiEndpoint endpoint, RaiTarget target)
        where T : class
    {
        var face = RaiInterface.Of(typeof(T));
        var proxy = DispatchProxy.Create<T, RaiProxy>();
        var self = (RaiProxy)(object)proxy;
        (self._endpoint, self._target, self._interface) = (endpoint, target, face);
        return proxy;
    }

    /// <inheritdoc/>
    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        if (targetMethod.DeclaringType == typeof(IDisposable))
        {
            Dispose();
            return null;
        }
        if (targetMethod.DeclaringType == typeof(IAsyncDisposable)) return DisposeAsync();
        var method = _interface[targetMethod];
        var call = method.NewCall();
        if (Volatile.Read(ref _disposed) != 0)
            call.Fail(new ObjectDisposedException(_interface.Type.Name, $"This proxy of {_interface.Type.Name} (VR {Host}) was disposed, and its object released."));
        else
            _endpoint.Call(_target, method.Number, args ?? [], call);
        return method.IsAsync ? method.Returned(call) : RaiEndpoint.Block(call);
    }

    /// <summary>Releases the remote object: its host ends, and later calls through any proxy of it fail at once.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) _endpoint.Release(_target);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the remote object, as <see cref="Dispose"/>.</summary>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}

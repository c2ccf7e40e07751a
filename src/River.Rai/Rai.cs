namespace River;

/// <summary>
/// Remote objects on River: make an object on a VM (or serve one that exists) and call it through its
/// interface, from the VR that made it or, after sending its <see cref="RaiRef{T}"/>, from any other.
/// </summary>
/// <example><code>
/// ICalc calc = Rai.Create&lt;ICalc, Calc&gt;(this, Discover()[1], 10);
/// int seven = calc.Add(3, 4);                     // blocks
/// int eight = await calc.AddAsync(4, 4);          // Task and ValueTask methods do not
/// Send(other, new { tag = "calc", calc = Rai.RefOf(calc) });
/// ((IDisposable)calc).Dispose();                  // releases the object
/// </code></example>
public static class Rai
{
    /// <summary>
    /// Makes a <typeparamref name="TImpl"/> on <paramref name="vm"/> with <paramref name="ctorArgs"/> and returns a
    /// proxy to it. The object lives until a proxy of it is disposed or <paramref name="caller"/> ends. Its code
    /// is shipped to the VM when the VM lacks it.
    /// </summary>
    /// <param name="caller">the VR that owns the object and makes the calls (usually <c>this</c>).</param>
    /// <param name="vm">where the object lives.</param>
    /// <param name="ctorArgs">the arguments of <typeparamref name="TImpl"/>'s constructor, copied like packet values.</param>
    /// <exception cref="RaiRemoteException">the constructor threw.</exception>
    /// <exception cref="DeployException">the VM refused or could not start the object's host.</exception>
    public static TInterface Create<TInterface, TImpl>(VirtualResourceBase caller, VmInfo vm, params object?[] ctorArgs)
        where TInterface : class
        where TImpl : class, TInterface =>
        Create<TInterface>(caller, vm, typeof(TImpl), ctorArgs);

    /// <summary>As <see cref="Create{TInterface, TImpl}(VirtualResourceBase, VmInfo, object?[])"/>, with the object's class known at run time.</summary>
    /// <exception cref="ArgumentException"><paramref name="impl"/> is no class implementing <typeparamref name="TInterface"/>.</exception>
    public static TInterface Create<TInterface>(VirtualResourceBase caller, VmInfo vm, Type impl, params object?[] ctorArgs)
        where TInterface : class
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(vm);
        ArgumentNullException.ThrowIfNull(impl);
        if (!impl.IsClass || impl.IsAbstract || impl.ContainsGenericParameters || !typeof(TInterface).IsAssignableFrom(impl))
            throw new ArgumentException($"{impl.FullName} is not a concrete class implementing {typeof(TInterface).FullName}.", nameof(impl));
        RaiInterface.Of(typeof(TInterface)); // an interface that cannot be called remotely fails here, not at its first call
        var endpoint = RaiEndpoint.Of(caller);
        var ready = new RaiCall<object?>();
        var id = endpoint.Expect(ready);
        VrId host;
        try
        {
            host = endpoint.Deploy(typeof(RaiHost<>).MakeGenericType(impl), [vm], typeof(TInterface).FullName, id, ctorArgs ?? [null])[0];
        }
        catch
        {
            endpoint.Forget(id);
            throw;
        }
        var target = endpoint.Target(host);
        endpoint.Link(id, ready, target);
        RaiEndpoint.Block(ready);
        return RaiProxy.Create<TInterface>(endpoint, target);
    }

    /// <summary>
    /// Serves <paramref name="target"/>, which lives in this process, to other VRs through <typeparamref name="TInterface"/>;
    /// returns a proxy (call it or send its <see cref="RefOf{T}(T)"/>). Calls run on a VR of their own on
    /// <paramref name="caller"/>'s VM. The object is served until a proxy of it is disposed or <paramref name="caller"/> ends.
    /// </summary>
    public static TInterface Expose<TInterface>(VirtualResourceBase caller, TInterface target)
        where TInterface : class
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(target);
        var endpoint = RaiEndpoint.Of(caller);
        var host = endpoint.Spawn(new RaiExposedHost(target, RaiInterface.Of(typeof(TInterface))));
        return RaiProxy.Create<TInterface>(endpoint, endpoint.Target(host));
    }

    /// <summary>The value that stands for a proxy's object in a packet.</summary>
    /// <exception cref="ArgumentException"><paramref name="proxy"/> is not a Rai proxy.</exception>
    public static RaiRef<T> RefOf<T>(T proxy)
        where T : class =>
        proxy is RaiProxy p ? new RaiRef<T>(p.Host) : throw new ArgumentException($"{proxy?.GetType().Name ?? "null"} is not a proxy made by Rai.", nameof(proxy));

    /// <summary>
    /// A proxy through which <paramref name="caller"/> calls the object <paramref name="reference"/> names (sent to it by
    /// another VR). Disposing it releases the object for everyone.
    /// </summary>
    public static T Bind<T>(VirtualResourceBase caller, RaiRef<T> reference)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(reference);
        var endpoint = RaiEndpoint.Of(caller);
        return RaiProxy.Create<T>(endpoint, endpoint.Target(reference.Host));
    }
}

namespace River;

/// <summary>
/// A remote object as a value: send it in a packet like any other, and <see cref="Rai.Bind{T}(VirtualResourceBase, RaiRef{T})"/>
/// it in the receiving VR to call the object from there.
/// </summary>
/// <typeparam name="T">the interface the object is called through.</typeparam>
/// <param name="Host">the VR that serves the object.</param>
public sealed record RaiRef<T>(VrId Host)
    where T : class;

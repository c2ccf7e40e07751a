namespace River;

/// <summary>A remote method threw: the remote exception's type, message and stack trace, as the host saw them.</summary>
public sealed class RaiRemoteException : Exception
{
    /// <summary>Creates one from what the host sent.</summary>
    public RaiRemoteException(string remoteType, string message, string? remoteStackTrace)
        : base(message)
    {
        RemoteType = remoteType;
        RemoteStackTrace = remoteStackTrace;
    }

    /// <summary>The full name of the exception's type on the host, e.g. <c>System.DivideByZeroException</c>.</summary>
    public string RemoteType { get; }

    /// <summary>The exception's stack trace on the host.</summary>
    public string? RemoteStackTrace { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{RemoteType} (remote): {Message}{Environment.NewLine}{RemoteStackTrace}{Environment.NewLine}--- end of remote stack ---{Environment.NewLine}{base.ToString()}";
}

/// <summary>
/// A remote object cannot be called any more: it was released (a proxy of it was disposed, or the VR that
/// created it ended), it failed, or its VM is lost. Calls fail with this at once, and calls under way when it
/// happened fail with it too.
/// </summary>
public sealed class RaiObjectGoneException : Exception
{
    /// <summary>Creates one naming the object and why it is gone.</summary>
    public RaiObjectGoneException(VrId host, string reason)
        : base($"The remote object served by VR {host} is gone: {reason}.")
    {
        Host = host;
        Reason = reason;
    }

    /// <summary>The VR that served the object.</summary>
    public VrId Host { get; }

    /// <summary>Why: <c>released</c>, <c>its VM is lost</c>, <c>it failed: ...</c>, ...</summary>
    public string Reason { get; }
}

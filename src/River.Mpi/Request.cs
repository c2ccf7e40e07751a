namespace River.Mpi;

/// <summary>A non-blocking operation (<c>ImmediateSend</c>, <c>ImmediateReceive</c>): wait for it or test it.</summary>
public abstract class Request
{
    private protected Request()
    {
    }

    /// <summary>Blocks until the operation completes; returns its status.</summary>
    /// <exception cref="MpiAbortedException">the job was aborted while waiting.</exception>
    public abstract CompletedStatus Wait();

    /// <summary>The status when the operation has completed, else null; never waits.</summary>
    public abstract CompletedStatus? Test();

    /// <summary>The receive still waiting for its message, if this is one.</summary>
    private protected abstract PostedReceive? Pending { get; }

    private protected abstract Port? Port { get; }

    /// <summary>Waits for every request; returns their statuses in the same order.</summary>
    public static CompletedStatus[] WaitAll(params Request[] requests)
    {
        ArgumentNullException.ThrowIfNull(requests);
        return [.. requests.Select(r => r.Wait())];
    }

    /// <summary>Waits until one request has completed and returns its index (its <see cref="Wait"/> then returns at once).</summary>
    /// <exception cref="ArgumentException">no requests, or receives of different ranks.</exception>
    public static int WaitAny(params Request[] requests)
    {
        ArgumentNullException.ThrowIfNull(requests);
        if (requests.Length == 0) throw new ArgumentException("WaitAny needs at least one request.", nameof(requests));
        for (var i = 0; i < requests.Length; i++)
            if (requests[i].Pending is null) return i;
        var port = requests[0].Port!;
        if (requests.Any(r => r.Port != port)) throw new ArgumentException("WaitAny takes requests of one rank.", nameof(requests));
        return port.WaitAny([.. requests.Select(r => r.Pending!)]);
    }
}

/// <summary>A send: River's <c>Send</c> never waits for the receiver, so it is complete when made.</summary>
internal sealed class SendRequest(CompletedStatus status) : Request
{
    public override CompletedStatus Wait() => status;

    public override CompletedStatus? Test() => status;

    private protected override PostedReceive? Pending => null;

    private protected override Port? Port => null;
}

/// <summary>A posted receive; <see cref="Value"/> holds the message once it has completed.</summary>
/// <typeparam name="T">the type of the value received.</typeparam>
public sealed class ReceiveRequest<T> : Request
{
    private readonly Communicator _communicator;
    private readonly PostedReceive _posted;
    private readonly Func<Packet, T> _read;
    private CompletedStatus? _status;
    private T _value = default!;

    internal ReceiveRequest(Communicator communicator, PostedReceive posted, Func<Packet, T> read)
    {
        _communicator = communicator;
        _posted = posted;
        _read = read;
    }

    /// <summary>The value received.</summary>
    /// <exception cref="InvalidOperationException">the receive has not completed (call <see cref="Wait"/> or <see cref="Test"/> first).</exception>
    public T Value => _status is not null ? _value : throw new InvalidOperationException("The receive has not completed yet; Wait() or Test() for it first.");

    /// <inheritdoc/>
    public override CompletedStatus Wait()
    {
        if (_status is null) _communicator.Port.Wait(_posted);
        return Complete()!;
    }

    /// <inheritdoc/>
    public override CompletedStatus? Test()
    {
        if (_status is null && _posted.Packet is null) _communicator.Port.Progress();
        return Complete();
    }

    private protected override PostedReceive? Pending => _posted.Packet is null ? _posted : null;

    private protected override Port? Port => _communicator.Port;

    private CompletedStatus? Complete()
    {
        if (_status is not null || _posted.Packet is not { } packet) return _status;
        _value = _read(packet);
        return _status = _communicator.StatusOf(packet);
    }
}

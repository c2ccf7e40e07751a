using System.Threading.Tasks.Sources;

namespace River;

/// <summary>Suspends an async VR until a packet is handed over. One per async VR, reused.</summary>
internal sealed class AsyncWaiter : IPacketWaiter, IValueTaskSource<Packet>
{
    private ManualResetValueTaskSourceCore<Packet> _core = new() { RunContinuationsAsynchronously = true };
    private Mailbox? _mailbox;
    private CancellationTokenRegistration _registration;
    private CancellationTokenSource? _timer;
    private TimeSpan? _timeout;
    private CancellationToken _userCancel;

    public ValueTask<Packet> ReceiveAsync(Mailbox mailbox, Matcher match, TimeSpan? timeout, CancellationToken cancel)
    {
        if (mailbox.TryTake(match, out var p)) return new ValueTask<Packet>(p);
        cancel.ThrowIfCancellationRequested();
        _core.Reset();
        var taken = mailbox.TakeOrPark(match, this);
        if (taken is not null) return new ValueTask<Packet>(taken);
        _mailbox = mailbox;
        _timeout = timeout;
        _userCancel = cancel;
        if (timeout is { } t)
        {
            _timer = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            _timer.CancelAfter(t);
            cancel = _timer.Token;
        }
        if (cancel.CanBeCanceled)
            _registration = cancel.UnsafeRegister(static s => ((AsyncWaiter)s!).Cancel(), this);
        return new ValueTask<Packet>(this, _core.Version);
    }

    public void Complete(Packet packet)
    {
        Release();
        _core.SetResult(packet);
    }

    public void Fail(Exception error)
    {
        Release();
        _core.SetException(error);
    }

    private void Cancel()
    {
        if (_mailbox is null || !_mailbox.Unpark(this)) return;
        Exception error = _userCancel.IsCancellationRequested
            ? new OperationCanceledException(_userCancel)
            : new TimeoutException($"No matching packet arrived within {_timeout}.");
        Release();
        _core.SetException(error);
    }

    private void Release()
    {
        _registration.Unregister();
        _registration = default;
        _timer?.Dispose();
        _timer = null;
        _mailbox = null;
    }

    public Packet GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}

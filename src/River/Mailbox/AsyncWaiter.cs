using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace River;

/// <summary>Suspends an async VR until a packet it wants arrives. One per async VR, reused.</summary>
internal sealed class AsyncWaiter : IPacketWaiter, IValueTaskSource<bool>
{
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private Exception? _error;
    private Mailbox? _mailbox;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<Packet> ReceiveAsync(Mailbox mailbox, Matcher match, TimeSpan? timeout, CancellationToken cancel)
    {
        if (mailbox.TryTake(match, out var p)) return p;
        cancel.ThrowIfCancellationRequested();
        using var timer = timeout is null ? null : CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timer?.CancelAfter(timeout!.Value);
        var token = timer?.Token ?? cancel;
        while (true)
        {
            _core.Reset();
            _error = null;
            var taken = mailbox.TakeOrPark(match, this);
            if (taken is not null) return taken;
            _mailbox = mailbox;
            bool woken;
            using (token.CanBeCanceled ? token.UnsafeRegister(static s => ((AsyncWaiter)s!).Cancel(), this) : default)
                woken = await new ValueTask<bool>(this, _core.Version).ConfigureAwait(false);
            if (woken) continue;
            if (_error is not null) throw _error;
            if (cancel.IsCancellationRequested) throw new OperationCanceledException(cancel);
            if (mailbox.TryTake(match, out p)) return p;
            throw new TimeoutException($"No matching packet arrived within {timeout}.");
        }
    }

    public void Wake() => _core.SetResult(true);

    public void AbsorbWake()
    {
        // The sender that won the wake calls Wake right after: let it land so the next Reset is safe.
        var spinner = new SpinWait();
        while (_core.GetStatus(_core.Version) == ValueTaskSourceStatus.Pending) spinner.SpinOnce();
        _core.GetResult(_core.Version);
    }

    public void Fail(Exception error)
    {
        _error = error;
        _core.SetResult(false);
    }

    private void Cancel()
    {
        if (_mailbox is { } mailbox && mailbox.Unpark(this)) _core.SetResult(false);
    }

    public bool GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}

using System.Threading.Tasks.Sources;

namespace River;

/// <summary>
/// Suspends an async VR until a packet it wants arrives. One per async VR, reused. A parked receive holds no
/// state machine of its own (a million parked VRs would hold a million): the waiter is the receive's
/// <see cref="IValueTaskSource{TResult}"/>, and a wake queues the waiter itself to the thread pool, where it
/// looks again and completes the receive, so the VR's code goes on there, never on the sender's thread.
/// </summary>
internal sealed class AsyncWaiter : IPacketWaiter, IValueTaskSource<Packet>, IThreadPoolWorkItem
{
    // Idle: no receive. Looking: the receiver is in the mailbox (a wake that lands now turns it Woken, and the
    // receiver sees that itself, so no second look runs beside its own). Parked: it returned a pending receive,
    // and a wake queues the next look.
    private const int Idle = 0, Looking = 1, Woken = 2, Parked = 3;

    private ManualResetValueTaskSourceCore<Packet> _core; // completed on the pool thread that looked: continuations run inline
    private int _phase;
    private bool _pending; // ReceiveAsync returned the core's task: the completion goes there
    private Mailbox? _mailbox;
    private Matcher? _match;
    private TimeSpan? _timeout;
    private CancellationToken _cancel;
    private CancellationTokenSource? _timer;
    private CancellationTokenRegistration _registration;
    private Exception? _error; // the mailbox closed while parked
    private volatile bool _cancelRequested; // the token or the timeout fired

    /// <remarks>
    /// <paramref name="closesMailbox"/>: <paramref name="cancel"/> fires only as the mailbox closes (the VR's own stop
    /// token), and the close wakes this receive anyway, so it needs no registration (one per parked VR).
    /// </remarks>
    public ValueTask<Packet> ReceiveAsync(Mailbox mailbox, Matcher match, TimeSpan? timeout, CancellationToken cancel, bool closesMailbox = false)
    {
        if (_phase != Idle) throw new InvalidOperationException("A VR receives one packet at a time; another receive is already waiting.");
        if (mailbox.TryTake(match, out var p)) return new(p);
        cancel.ThrowIfCancellationRequested();
        (_mailbox, _match, _timeout, _cancel, _error, _cancelRequested) = (mailbox, match, timeout, cancel, null, false);
        _core.Reset();
        _phase = Looking;
        if (Look() is { } done) return done;
        // Parked: from here a cancel or timeout unparks it (one that fires at once runs now, and is seen below).
        if (timeout is { } t)
        {
            _timer = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            _timer.CancelAfter(t);
        }
        var token = _timer?.Token ?? (closesMailbox ? default : cancel);
        if (token.CanBeCanceled) _registration = token.UnsafeRegister(static s => ((AsyncWaiter)s!).Cancel(), this);
        return Settle() is { } settled ? settled : new(this, _core.Version);
    }

    /// <summary>Looks until the receive completes (its result) or parks (null; phase Parked or Woken).</summary>
    private ValueTask<Packet>? Look()
    {
        while (true)
        {
            if (_error is { } error) return Complete(null, error);
            if (_cancelRequested) return Complete(CancelledOutcome(out var failure), failure);
            Packet? taken;
            try
            {
                taken = _mailbox!.TakeOrPark(_match!, this);
            }
            catch (Exception e)
            {
                return Complete(null, e);
            }
            if (taken is not null) return Complete(taken, null);
            // A cancel that came before the park found nothing to unpark: unpark here (else a wake is on its way).
            if (_cancelRequested && _mailbox.Unpark(this)) continue;
            return null;
        }
    }

    /// <summary>After ReceiveAsync's park: pending (null) once the phase is Parked, else a wake landed while looking: look again.</summary>
    private ValueTask<Packet>? Settle()
    {
        while (true)
        {
            _pending = true; // before the phase says Parked: a wake may run the next look at once
            if (Interlocked.CompareExchange(ref _phase, Parked, Looking) == Looking) return null;
            (_pending, _phase) = (false, Looking);
            if (Look() is { } done) return done;
        }
    }

    // A wake of a parked receive: look again here (a completion sets the core's result).
    void IThreadPoolWorkItem.Execute()
    {
        _phase = Looking;
        while (Look() is null && Interlocked.CompareExchange(ref _phase, Parked, Looking) == Woken) _phase = Looking;
    }

    private Packet? CancelledOutcome(out Exception? failure)
    {
        failure = null;
        if (_cancel.IsCancellationRequested) failure = new OperationCanceledException(_cancel);
        else if (_mailbox!.TryTake(_match!, out var p)) return p;
        else failure = new TimeoutException($"No matching packet arrived within {_timeout}.");
        return null;
    }

    /// <summary>Ends the receive: a result to return now while still in <see cref="ReceiveAsync"/>, else the core's.</summary>
    private ValueTask<Packet> Complete(Packet? packet, Exception? failure)
    {
        _registration.Dispose(); // waits out a cancel callback running now
        _registration = default;
        _timer?.Dispose();
        (_timer, _mailbox, _match, _cancel, _error) = (null, null, null, default, null);
        var pending = _pending;
        (_pending, _phase) = (false, Idle); // the VR's next receive may start as soon as this one completes
        if (!pending)
        {
            // Completed in ReceiveAsync itself or its Settle: nobody awaits the core yet.
            return failure is null ? new(packet!) : ValueTask.FromException<Packet>(failure);
        }
        if (failure is null) _core.SetResult(packet!);
        else _core.SetException(failure);
        return default;
    }

    /// <summary>A wake, a close or a cancel for the current park (each park gets exactly one, or is absorbed).</summary>
    private void Signal()
    {
        if (Interlocked.CompareExchange(ref _phase, Woken, Looking) == Looking) return; // the receiver, still looking, sees it
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    public void Wake() => Signal();

    public void AbsorbWake()
    {
        // Called while the receiver looks: the sender that won the wake calls Wake right after; let it land.
        var spinner = new SpinWait();
        while (Volatile.Read(ref _phase) != Woken) spinner.SpinOnce();
        _phase = Looking;
    }

    public void Fail(Exception error)
    {
        _error = error;
        Signal();
    }

    private void Cancel()
    {
        _cancelRequested = true;
        if (_mailbox is { } mailbox && mailbox.Unpark(this)) Signal();
    }

    public Packet GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}

using System.Threading.Tasks.Sources;

namespace River;

/// <summary>
/// An async VR's mailbox, which is also the waiter that suspends the VR until a packet it wants arrives: one
/// object per VR where a mailbox and a waiter would be two (a VM may hold a million parked VRs). A parked receive
/// holds no state machine of its own: the mailbox is the receive's <see cref="IValueTaskSource{TResult}"/>, and a
/// wake queues it to the thread pool, where it looks again and completes the receive, so the VR's code goes on
/// there, never on the sender's thread.
/// </summary>
internal sealed class AsyncMailbox : Mailbox, IPacketWaiter, IValueTaskSource<Packet>, IThreadPoolWorkItem
{
    // Idle: no receive. Looking: the receiver is in the mailbox (a wake that lands now turns it Woken, and the
    // receiver sees that itself, so no second look runs beside its own). Parked: it returned a pending receive,
    // and a wake queues the next look.
    private const int Idle = 0, Looking = 1, Woken = 2, Parked = 3;

    private ManualResetValueTaskSourceCore<Packet> _core; // completed on the pool thread that looked: continuations run inline
    private int _phase;
    private bool _pending; // ReceiveAsync returned the core's task: the completion goes there
    private Matcher? _match; // the receive's; null when none is under way
    private TimeSpan? _timeout;
    private CancellationToken _cancel;
    private CancellationTokenSource? _timer;
    private CancellationTokenRegistration _registration;
    private Exception? _closedError; // the mailbox closed while parked
    private volatile bool _cancelRequested; // the token or the timeout fired

    /// <summary>An unbounded mailbox.</summary>
    public AsyncMailbox()
    {
    }

    /// <summary>The mailbox of async VR <paramref name="owner"/>, holding at most what <paramref name="limit"/> says.</summary>
    public AsyncMailbox(VrId owner, QueueLimit limit)
        : base(owner, limit)
    {
    }

    /// <summary>Completes with the oldest packet <paramref name="match"/> accepts, removed from the queue; one receive at a time.</summary>
    /// <remarks>
    /// <paramref name="closesMailbox"/>: <paramref name="cancel"/> fires only as the mailbox closes (the VR's own stop
    /// token), and the close wakes this receive anyway, so it needs no registration (one per parked VR).
    /// </remarks>
    public ValueTask<Packet> ReceiveAsync(Matcher match, TimeSpan? timeout, CancellationToken cancel, bool closesMailbox = false)
    {
        if (_phase != Idle) throw new InvalidOperationException("A VR receives one packet at a time; another receive is already waiting.");
        if (TryTake(match, out var p)) return new(p);
        cancel.ThrowIfCancellationRequested();
        (_match, _timeout, _cancel, _closedError, _cancelRequested) = (match, timeout, cancel, null, false);
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
        if (token.CanBeCanceled) _registration = token.UnsafeRegister(static s => ((AsyncMailbox)s!).Cancel(), this);
        return Settle() is { } settled ? settled : new(this, _core.Version);
    }

    /// <summary>Looks until the receive completes (its result) or parks (null; phase Parked or Woken).</summary>
    private ValueTask<Packet>? Look()
    {
        while (true)
        {
            if (_closedError is { } error) return Complete(null, error);
            if (_cancelRequested) return Complete(CancelledOutcome(out var failure), failure);
            Packet? taken;
            try
            {
                taken = TakeOrPark(_match!, this);
            }
            catch (Exception e)
            {
                return Complete(null, e);
            }
            if (taken is not null) return Complete(taken, null);
            // A cancel that came before the park found nothing to unpark: unpark here (else a wake is on its way).
            if (_cancelRequested && Unpark(this)) continue;
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
        else if (TryTake(_match!, out var p)) return p;
        else failure = new TimeoutException($"No matching packet arrived within {_timeout}.");
        return null;
    }

    /// <summary>Ends the receive: a result to return now while still in <see cref="ReceiveAsync"/>, else the core's.</summary>
    private ValueTask<Packet> Complete(Packet? packet, Exception? failure)
    {
        _registration.Dispose(); // waits out a cancel callback running now
        _registration = default;
        _timer?.Dispose();
        (_timer, _match, _cancel, _closedError) = (null, null, default, null);
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

    void IPacketWaiter.Wake() => Signal();

    void IPacketWaiter.AbsorbWake()
    {
        // Called while the receiver looks: the sender that won the wake calls Wake right after; let it land.
        var spinner = new SpinWait();
        while (Volatile.Read(ref _phase) != Woken) spinner.SpinOnce();
        _phase = Looking;
    }

    void IPacketWaiter.Fail(Exception error)
    {
        _closedError = error;
        Signal();
    }

    private void Cancel()
    {
        _cancelRequested = true;
        if (_match is not null && Unpark(this)) Signal();
    }

    public Packet GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}

namespace River;

/// <summary>
/// What the runtime gives a VR when it starts it: its name, family, arguments, queue and VM. One VM may hold a
/// million of these, so what most VRs never use (credit ledgers, the end's task) is made on first use, and what
/// every VR needs is merged into as few objects as can be: the context is the source of the VR's stop token, and
/// an async VR's mailbox is also its receive's waiter (<see cref="AsyncMailbox"/>).
/// </summary>
internal sealed class VrContext(RiverVm vm, VrId id, VrId? parent, IReadOnlyList<string> args, object?[] deployArgs, VirtualResourceBase instance, ProgramRun.Ref run, RiverVmOptions? options = null)
    : CancellationTokenSource, IThreadPoolWorkItem
{
    private System.Collections.Concurrent.ConcurrentDictionary<VmId, CreditLedger>? _ledgers;
    private TaskCompletionSource? _ended;
    private ExecutionContext? _flow; // the starter's, for an async VR's body (as Task.Run would flow it)
    private Task? _body; // an async VR's running body

    public RiverVm Vm { get; } = vm;
    public VrId Id { get; } = id;
    public VrId? Parent { get; } = parent;
    public IReadOnlyList<string> Args { get; } = args;
    public object?[] DeployArgs { get; } = deployArgs;
    public VirtualResourceBase Instance { get; } = instance;

    /// <summary>The program run this VR belongs to, and the load context of its shipped code (null: the VM's own).</summary>
    public ProgramRun.Ref Run { get; } = run;
    public Mailbox Mailbox { get; } = instance is AsyncVirtualResource
        ? new AsyncMailbox(id, instance.QueueLimit ?? options?.QueueLimit ?? QueueLimit.Default)
        : new Mailbox(id, instance.QueueLimit ?? options?.QueueLimit ?? QueueLimit.Default);

    /// <summary>How long this VR's <c>Send</c> waits for room in a full queue before it throws <see cref="QueueFullException"/>.</summary>
    public TimeSpan SendTimeout { get; } = instance.SendTimeout ?? options?.SendTimeout ?? RiverVmOptions.DefaultSendTimeout;

    /// <summary>Credit owed to each VM that sends to this VR (see <see cref="CreditLedger"/>); made when the first one sends.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<VmId, CreditLedger> Ledgers => LazyInitializer.EnsureInitialized(ref _ledgers, static () => new());

    /// <summary>The ledgers, if any VM sent to this VR.</summary>
    public IEnumerable<CreditLedger> LedgersIfAny => Volatile.Read(ref _ledgers)?.Values ?? [];

    /// <summary>Completes when the VR ended; faulted with its failure.</summary>
    public Task Ended => EndedSource.Task;

    private TaskCompletionSource EndedSource => LazyInitializer.EnsureInitialized(ref _ended, static () => new(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>The VR ended (with <paramref name="error"/> when it failed): <see cref="Ended"/> completes.</summary>
    public void End(Exception? error)
    {
        if (error is null) EndedSource.TrySetResult();
        else EndedSource.TrySetException(error);
    }

    /// <summary>
    /// Fires when the VM stops or the VR is killed; async VRs get it as <c>MainAsync</c>'s token. Not linked to the
    /// VM's token (a million registrations on one source): <see cref="Stop"/> cancels it, the VM calls that for each VR.
    /// </summary>
    public CancellationToken Stopping => Token;

    /// <summary>True when <paramref name="token"/> is this VR's <see cref="Stopping"/>: it fires only together with the mailbox's close.</summary>
    public bool IsStopping(CancellationToken token) => token == Token;

    public bool Killed { get; private set; }

    /// <summary>The mirror group this VR is a replica of, if it was deployed mirrored (see <c>Mirroring/</c>).</summary>
    public MirrorGroup? Replica { get; set; }

    /// <summary>True when this instance was restarted from a checkpoint (its fields were set from it).</summary>
    public bool Restored { get; set; }

    /// <summary>Linked VRs' ends come as <c>river.exit</c> packets instead of errors (<see cref="VirtualResourceBase.TrapExits"/>).</summary>
    public bool TrapExits { get; set; }

    /// <summary>This context, after throwing an error raised for the VR (a linked VR's failure) that it has not seen yet.</summary>
    public VrContext Checked
    {
        get
        {
            Mailbox.ThrowRaised();
            return this;
        }
    }

    public void Kill()
    {
        Killed = true;
        Stop();
    }

    /// <summary>The VR must end (killed, or its VM stopping): its token fires and its queue closes.</summary>
    public void Stop()
    {
        Cancel();
        Mailbox.Close();
    }

    /// <summary>Runs an async VR's body on the thread pool, as <c>Task.Run</c> would, without a task and continuation of its own.</summary>
    public void LaunchAsync()
    {
        _flow = ExecutionContext.Capture();
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    void IThreadPoolWorkItem.Execute()
    {
        if (_flow is { } flow) ExecutionContext.Run(flow, static s => ((VrContext)s!).RunBody(), this);
        else RunBody();
    }

    private void RunBody()
    {
        _flow = null;
        try
        {
            _body = ((AsyncVirtualResource)Instance).RunAsync(Stopping);
        }
        catch (Exception e)
        {
            Vm.Finish(this, e);
            return;
        }
        if (_body.IsCompleted) BodyEnded();
        else _body.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(BodyEnded);
    }

    private void BodyEnded()
    {
        var body = _body!;
        _body = null;
        Vm.Finish(this, body.Exception?.InnerException ?? (body.IsCanceled ? new OperationCanceledException() : null));
    }

}

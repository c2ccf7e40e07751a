namespace River;

/// <summary>What the runtime gives a VR when it starts it: its name, family, arguments, queue and VM.</summary>
internal sealed class VrContext(RiverVm vm, VrId id, VrId? parent, IReadOnlyList<string> args, object?[] deployArgs, VirtualResourceBase instance, ProgramRun.Ref run, CancellationToken vmStopping, RiverVmOptions? options = null)
{
    private CancellationTokenSource? _kill;

    public RiverVm Vm { get; } = vm;
    public VrId Id { get; } = id;
    public VrId? Parent { get; } = parent;
    public IReadOnlyList<string> Args { get; } = args;
    public object?[] DeployArgs { get; } = deployArgs;
    public VirtualResourceBase Instance { get; } = instance;

    /// <summary>The program run this VR belongs to, and the load context of its shipped code (null: the VM's own).</summary>
    public ProgramRun.Ref Run { get; } = run;
    public Mailbox Mailbox { get; } = new(id, instance.QueueLimit ?? options?.QueueLimit ?? QueueLimit.Default);

    /// <summary>How long this VR's <c>Send</c> waits for room in a full queue before it throws <see cref="QueueFullException"/>.</summary>
    public TimeSpan SendTimeout { get; } = instance.SendTimeout ?? options?.SendTimeout ?? RiverVmOptions.DefaultSendTimeout;

    /// <summary>Credit owed to each VM that sends to this VR (see <see cref="CreditLedger"/>).</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<VmId, CreditLedger> Ledgers { get; } = new();
    public TaskCompletionSource Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Fires when the VM stops or the VR is killed; async VRs get it as <c>MainAsync</c>'s token.</summary>
    public CancellationToken Stopping => (_kill ??= CancellationTokenSource.CreateLinkedTokenSource(vmStopping)).Token;

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
        (_kill ??= CancellationTokenSource.CreateLinkedTokenSource(vmStopping)).Cancel();
        Mailbox.Close();
    }
}

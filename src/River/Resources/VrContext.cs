namespace River;

/// <summary>What the runtime gives a VR when it starts it: its name, family, arguments, queue and VM.</summary>
internal sealed class VrContext(RiverVm vm, VrId id, VrId? parent, IReadOnlyList<string> args, object?[] deployArgs, VirtualResourceBase instance)
{
    public RiverVm Vm { get; } = vm;
    public VrId Id { get; } = id;
    public VrId? Parent { get; } = parent;
    public IReadOnlyList<string> Args { get; } = args;
    public object?[] DeployArgs { get; } = deployArgs;
    public VirtualResourceBase Instance { get; } = instance;
    public Mailbox Mailbox { get; } = new();
    public TaskCompletionSource Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

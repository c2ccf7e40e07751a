namespace River;

/// <summary>
/// A virtual resource without a thread of its own: its body is a task and it receives with
/// <see cref="RecvAsync(object?, TimeSpan?, CancellationToken)"/>, so one VM can host hundreds of thousands.
/// </summary>
/// <example><code>
/// public sealed class Counter : AsyncVirtualResource
/// {
///     protected override async Task MainAsync(CancellationToken stop)
///     {
///         var p = await RecvAsync(new { tag = "add" }, cancel: stop);
///         Send(p.Src, new { tag = "sum", value = p.Get&lt;int&gt;("a") + p.Get&lt;int&gt;("b") });
///     }
/// }
/// </code></example>
public abstract class AsyncVirtualResource : VirtualResourceBase
{
    /// <summary>The VR's body; the VR ends when the task completes. <paramref name="stop"/> fires when the VM stops.</summary>
    protected abstract Task MainAsync(CancellationToken stop);

    internal Task RunAsync(CancellationToken stop) => MainAsync(stop);

    /// <summary>
    /// Marks a consistent point of this VR, as <see cref="VirtualResource"/>'s <c>Checkpoint()</c> does: its fields
    /// and the packets queued for it or on their way to it become part of the run's next coordinated checkpoint.
    /// Completes at once, saving nothing, unless the program runs with <c>--checkpoint-dir</c>.
    /// </summary>
    /// <exception cref="UnsupportedValueException">a field holds a value the serializer cannot carry (names the field).</exception>
    protected ValueTask CheckpointAsync()
    {
        Context.Vm.Checkpoints.Checkpoint(Context);
        return ValueTask.CompletedTask;
    }

    /// <summary>Completes with the oldest matching packet, removed from the queue.</summary>
    public ValueTask<Packet> RecvAsync(object? match = null, TimeSpan? timeout = null, CancellationToken cancel = default) =>
        Receive(Matcher.From(match), timeout, cancel);

    /// <summary>Completes with the oldest packet satisfying <paramref name="where"/>, removed from the queue.</summary>
    public ValueTask<Packet> RecvAsync(Func<Packet, bool> where, TimeSpan? timeout = null, CancellationToken cancel = default) =>
        Receive(Matcher.From(where), timeout, cancel);

    private ValueTask<Packet> Receive(Matcher match, TimeSpan? timeout, CancellationToken cancel)
    {
        var context = Context.Checked;
        return ((AsyncMailbox)context.Mailbox).ReceiveAsync(match, timeout, cancel, context.IsStopping(cancel));
    }
}

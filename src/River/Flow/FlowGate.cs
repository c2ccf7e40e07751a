namespace River;

/// <summary>
/// Something a sender may have to wait on before it sends to one VR: the VR's own queue (same VM) or
/// the credit window its VM granted (another VM). Senders wait until <see cref="Resumable"/>; whoever
/// makes room calls <see cref="Wake"/>. The wait is a task, so threads and async VRs share it, and it
/// costs nothing while there is room.
/// </summary>
internal abstract class FlowGate
{
    private TaskCompletionSource? _room;

    /// <summary>The VR this gate guards, for messages.</summary>
    protected abstract VrId Guarded { get; }

    /// <summary>True when a sender must wait.</summary>
    public abstract bool Blocked { get; }

    /// <summary>True when a waiting sender may go on; below <see cref="Blocked"/>'s mark, so waiters do not wake once per packet.</summary>
    protected virtual bool Resumable => !Blocked;

    /// <summary>Blocks the calling thread while the gate is closed; <see cref="QueueFullException"/> after <paramref name="timeout"/>.</summary>
    public void Wait(TimeSpan timeout)
    {
        if (!Blocked) return;
        // About to wait: what this thread holds back must leave, or the receiver may never get to make room.
        Corking.Flush();
        ReplyPolling.Stop();
        var deadline = Deadline(timeout);
        while (WhenRoom() is { } room)
            if (!room.Wait(Left(deadline))) throw Full(timeout);
    }

    /// <summary>Awaits while the gate is closed; <see cref="QueueFullException"/> after <paramref name="timeout"/>.</summary>
    public async ValueTask WaitAsync(TimeSpan timeout, CancellationToken cancel)
    {
        var deadline = Deadline(timeout);
        while (WhenRoom() is { } room)
        {
            try
            {
                await room.WaitAsync(TimeSpan.FromMilliseconds(Left(deadline)), cancel).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                throw Full(timeout);
            }
        }
    }

    /// <summary>Completes once room may have been made; null when there is room now.</summary>
    private Task? WhenRoom()
    {
        if (Resumable) return null;
        var room = Volatile.Read(ref _room);
        if (room is null)
        {
            var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            room = Interlocked.CompareExchange(ref _room, created, null) ?? created;
        }
        // Look again after registering (fences on both sides, see FenceAfterRegistering): room made just before was not
        // seen by its maker's Wake.
        FenceAfterRegistering();
        if (!Resumable)
            return room.Task;
        Wake();
        return null;
    }

    /// <summary>
    /// Orders a waiter's registration before its second look at <see cref="Resumable"/>, against a room maker that makes
    /// room, then looks for waiters. Here a full fence, for a maker that fences too (a locked add); a gate whose maker does
    /// not, to save a fence on every packet, fences every thread of the process instead: the rare waiter pays for it.
    /// </summary>
    protected virtual void FenceAfterRegistering() => Interlocked.MemoryBarrier();

    /// <summary>Wakes every waiting sender to look again; cheap when none waits.</summary>
    protected void Wake()
    {
        if (Volatile.Read(ref _room) is not null) Interlocked.Exchange(ref _room, null)?.TrySetResult();
    }

    private QueueFullException Full(TimeSpan waited) => new(Guarded, waited);

    private static long Deadline(TimeSpan timeout) =>
        timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : Environment.TickCount64 + (long)timeout.TotalMilliseconds;

    private static int Left(long deadline) =>
        deadline == long.MaxValue ? Timeout.Infinite : (int)Math.Clamp(deadline - Environment.TickCount64, 0, int.MaxValue);
}

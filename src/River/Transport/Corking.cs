using System.Collections.Concurrent;
using System.Diagnostics;

namespace River;

/// <summary>
/// Holds back the packets a VR's thread sends over the network until that thread is about to wait
/// (its <c>Recv</c> finds nothing, a deploy waits, the VR ends) or 16 KiB are queued on a link: a
/// stream or a burst of replies then leaves in one write instead of a syscall per packet, while a
/// request followed by a receive still leaves at once. A background flusher writes out, within one to
/// two milliseconds, what a thread that computes instead of waiting left behind (a hold at least half a
/// millisecond old), and what the thread pool has not started writing by then (see <see cref="PeerLink"/>).
/// </summary>
internal static class Corking
{
    // Small enough that the far side starts on a burst while this side still produces it, big enough
    // that a stream costs few syscalls: of 4 to 64 KiB, 8-16 KiB gave request/reply the most round trips.
    public const int HoldLimit = 16 * 1024;

    [ThreadStatic] private static bool t_active;
    [ThreadStatic] private static List<PeerLink>? t_held;

    private static readonly ConcurrentQueue<PeerLink> Held = new();
    private static readonly AutoResetEvent Wake = new(false);
    private static int s_flusher, s_parked;

    /// <summary>True on a thread that promises to call <see cref="Flush"/> before it waits.</summary>
    public static bool Active => t_active;

    /// <summary>Marks the current thread (a thread VR's own) as one that flushes before it waits.</summary>
    public static void Enter() => t_active = true;

    /// <summary>Remembers that <paramref name="link"/> holds frames this thread sent.</summary>
    public static void Note(PeerLink link, bool newlyHeld)
    {
        var held = t_held ??= [];
        if (held is not [.., var last] || last != link && !held.Contains(link)) held.Add(link); // a stream notes one link per packet
        if (newlyHeld) Later(link);
    }

    /// <summary>How old a hold must be before the flusher writes it: a thread that streams or waits writes its own sooner.</summary>
    private static readonly long HoldAge = Stopwatch.Frequency / 2000;

    /// <summary>Has the flusher write out <paramref name="link"/>'s queued frames within about a millisecond or two.</summary>
    public static void Later(PeerLink link)
    {
        if (!link.QueueForFlusher()) return; // queued already: the flusher looks at it soon
        Held.Enqueue(link);
        if (Interlocked.Exchange(ref s_flusher, 1) == 0)
            new Thread(FlushLoop) { IsBackground = true, Name = "River flusher" }.Start();
        else if (Volatile.Read(ref s_parked) == 1 && Interlocked.Exchange(ref s_parked, 0) == 1) Wake.Set();
    }

    /// <summary>Writes out every link this thread held frames on.</summary>
    public static void Flush()
    {
        if (t_held is not { Count: > 0 } held) return;
        foreach (var link in held)
        {
            link.Flush();
            ReplyPolling.SentOn(link);
        }
        held.Clear();
    }

    // Parks while nothing is held: a thread waking every millisecond for ever cost an idle VM about 14 % of a core here
    // (a virtual machine's timer wake-ups are dear), so 32 idle VMs on two cores starved their own heartbeats.
    private static void FlushLoop()
    {
        while (true)
        {
            Thread.Sleep(1);
            var heldBy = Stopwatch.GetTimestamp() - HoldAge;
            for (var n = Held.Count; n > 0 && Held.TryDequeue(out var link); n--)
            {
                link.TakenByFlusher(); // before its look: a hold begun after it queues the link again
                if (!link.FlushHeldBy(heldBy)) Later(link); // a young hold: looked at again next time
            }
            if (!Held.IsEmpty) continue;
            Interlocked.Exchange(ref s_parked, 1); // a full fence: the check below must not be read before this store
            // A link held after the check above: either this thread takes the flag back and goes on, or Later took it
            // and sets Wake, which this wait then consumes.
            if (Held.IsEmpty || Interlocked.Exchange(ref s_parked, 0) == 0) Wake.WaitOne();
        }
    }
}

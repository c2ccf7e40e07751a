using System.Diagnostics;

namespace River;

/// <summary>Parks a VR's own thread until a packet it wants arrives. One per thread VR, reused.</summary>
/// <remarks>
/// The poll before parking adapts to the VR's traffic: a park whose packet came soon after it (a reply that was
/// just late) doubles the next polls, up to <see cref="MaxSpinScale"/> times the base; a long park halves them.
/// A ping-pong partner a little slower than the base poll then stops paying a park and a wake (tens of µs here) on
/// every trip, while a VR that waits long for its packets spins no more than the base.
/// </remarks>
internal sealed class ThreadWaiter : IPacketWaiter
{
    /// <summary>The most the poll grows: 8 × the 50 µs default is 400 µs, still far below a scheduler's slice.</summary>
    public const int MaxSpinScale = 8;

    private readonly ManualResetEventSlim _signal = new(false, spinCount: 100);
    private Exception? _error;

    /// <summary>How many times the base poll this waiter spins now (1 to <see cref="MaxSpinScale"/>).</summary>
    public int SpinScale { get; private set; } = 1;

    public void Wake() => _signal.Set();

    // A late wake lands in a later receive's park, which then wakes early: it unparks and looks again (see Receive).
    public void AbsorbWake()
    {
    }

    public void Fail(Exception error)
    {
        _error = error;
        _signal.Set();
    }

    /// <summary>Receives from <paramref name="mailbox"/>: poll for <paramref name="spin"/>, then park until woken.</summary>
    public Packet Receive(Mailbox mailbox, Matcher match, TimeSpan? timeout, TimeSpan spin)
    {
        if (mailbox.TryTake(match, out var p)) return p;
        Corking.Flush(); // about to wait: what this VR sent must leave now
        var poll = spin * SpinScale;
        var budget = SpinBudget.Start(timeout is { } limit && limit < poll ? limit : poll);
        while (budget.Spin())
        {
            if (!mailbox.HasArrivals) ReplyPolling.Poll();
            if (mailbox.HasArrivals && mailbox.TryTake(match, out p)) return p;
        }
        ReplyPolling.Stop();
        var deadline = timeout is { } t ? Environment.TickCount64 + (long)t.TotalMilliseconds : long.MaxValue;
        var parkedAt = Stopwatch.GetTimestamp();
        while (true)
        {
            _signal.Reset();
            var taken = mailbox.TakeOrPark(match, this);
            if (taken is not null)
            {
                Adapt(Stopwatch.GetElapsedTime(parkedAt), spin);
                return taken;
            }
            var left = deadline == long.MaxValue ? Timeout.Infinite : (int)Math.Max(0, deadline - Environment.TickCount64);
            if (!_signal.Wait(left))
            {
                if (mailbox.Unpark(this))
                {
                    Adapt(TimeSpan.MaxValue, spin); // nothing came for the whole timeout: as long a wait as there is
                    // One last look: a packet the match wants may have come just now without a wake yet.
                    if (mailbox.TryTake(match, out p)) return p;
                    throw new TimeoutException($"No matching packet arrived within {timeout}.");
                }
                _signal.Wait(); // a wake is on its way
            }
            // Woken, but by the late wake of an earlier receive, whose packet it took while parking: still parked, so
            // unpark before looking again (a packet that comes meanwhile is queued before its sender reads the flag).
            else mailbox.Unpark(this);
            if (_error is { } error) throw error;
        }
    }

    /// <summary>Grows the poll after a park that the longest poll would have spared, else shrinks it.</summary>
    internal void Adapt(TimeSpan parked, TimeSpan spin) =>
        SpinScale = parked < spin * MaxSpinScale ? Math.Min(SpinScale * 2, MaxSpinScale) : Math.Max(SpinScale / 2, 1);
}

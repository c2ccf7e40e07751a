using System.Diagnostics;

namespace River;

/// <summary>
/// How a thread that expects an answer soon waits before it parks. Waking a parked thread costs tens
/// of µs here, so it polls: flat out for the first few µs (SpinWait's growing pauses would add µs to
/// a quick reply), then yielding between polls, so that on a busy machine the threads that must run
/// to produce the answer (a socket reader, the other VR) get the core instead of the spinner.
/// </summary>
internal struct SpinBudget
{
    private static readonly long FlatTicks = Stopwatch.Frequency / 200_000; // 5 µs
    private readonly long _start, _until;

    private SpinBudget(TimeSpan budget)
    {
        _start = Stopwatch.GetTimestamp();
        _until = _start + (long)(budget.TotalSeconds * Stopwatch.Frequency);
    }

    public static SpinBudget Start(TimeSpan budget) => new(budget);

    /// <summary>Pauses briefly; false once the budget is spent.</summary>
    public readonly bool Spin()
    {
        var now = Stopwatch.GetTimestamp();
        if (now - _start < FlatTicks) Thread.SpinWait(10);
        else Thread.Yield();
        return now < _until;
    }
}

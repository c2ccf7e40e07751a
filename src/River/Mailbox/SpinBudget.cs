using System.Diagnostics;

namespace River;

/// <summary>
/// How a thread that expects an answer soon waits before it parks: it polls flat out for a short
/// time. Waking a parked thread costs tens of µs here, and SpinWait's growing pauses and early
/// yields add µs of their own, so a flat poll answers a quick reply fastest.
/// </summary>
internal struct SpinBudget
{
    private readonly long _until;

    private SpinBudget(TimeSpan budget) =>
        _until = Stopwatch.GetTimestamp() + (long)(budget.TotalSeconds * Stopwatch.Frequency);

    public static SpinBudget Start(TimeSpan budget) => new(budget);

    /// <summary>Pauses briefly; false once the budget is spent.</summary>
    public readonly bool Spin()
    {
        Thread.SpinWait(10);
        return Stopwatch.GetTimestamp() < _until;
    }
}

namespace River;

/// <summary>
/// When a VM announces itself by multicast (<see cref="MulticastDiscovery"/>). Every second while young, then ever more
/// rarely (a fifth of its age, at most every <see cref="MaxInterval"/>): every VM checks every announcement it hears, so a
/// settled cluster of N VMs announcing each second would check N² a second for nothing. A newcomer is not left waiting
/// for the slower rhythm: a VM that hears one it must be dialed by answers with an announcement of its own, at most one per
/// <see cref="AnswerGap"/>, unless its next is due within a second anyway (a young VM: so VMs starting together do not
/// multiply their announcements). Times are <see cref="Environment.TickCount64"/> milliseconds; <c>arm</c> sets the one timer that
/// fires the next announcement, called under this schedule's lock so that the latest decision is the one armed.
/// </summary>
internal sealed class AnnounceSchedule
{
    /// <summary>The longest a settled VM goes without announcing itself.</summary>
    public static readonly TimeSpan MaxInterval = TimeSpan.FromSeconds(30);

    /// <summary>The shortest time between an announcement and an answer that follows it.</summary>
    public static readonly TimeSpan AnswerGap = TimeSpan.FromMilliseconds(250);

    private const long MinIntervalMs = 1000;

    private readonly Lock _gate = new();
    private readonly long _started;
    private readonly Action<long> _arm;
    private long _lastSent = long.MinValue / 2, _due = long.MaxValue;
    private bool _sending, _answerAsked;

    /// <summary>A schedule for a VM started at <paramref name="started"/>; <see cref="Start"/> arms the first announcement.</summary>
    public AnnounceSchedule(long started, Action<long> arm)
    {
        _started = started;
        _arm = arm;
    }

    /// <summary>How long a VM of age <paramref name="age"/> waits between announcements: a fifth of it, from 1 s to <see cref="MaxInterval"/>.</summary>
    public static TimeSpan Interval(TimeSpan age) => TimeSpan.FromTicks(Math.Clamp(age.Ticks / 5, MinIntervalMs * TimeSpan.TicksPerMillisecond, MaxInterval.Ticks));

    /// <summary>Arms the first announcement, due at once.</summary>
    public void Start()
    {
        lock (_gate) Arm(_started);
    }

    /// <summary>An announcement is going out: an answer asked for meanwhile follows it.</summary>
    public void Sending()
    {
        lock (_gate) _sending = true;
    }

    /// <summary>The announcement went out at <paramref name="now"/>: arms the next.</summary>
    public void Sent(long now)
    {
        lock (_gate)
        {
            _sending = false;
            _lastSent = now;
            var periodic = now + (long)Interval(TimeSpan.FromMilliseconds(now - _started)).TotalMilliseconds;
            Arm(_answerAsked && !DueWithinASecond(periodic, now) ? now + (long)AnswerGap.TotalMilliseconds : periodic);
            _answerAsked = false;
        }
    }

    /// <summary>A VM that must dial this one has not heard of it: announce soon, not sooner than <see cref="AnswerGap"/> after the last.</summary>
    public void Answer(long now)
    {
        lock (_gate)
        {
            if (_sending)
            {
                _answerAsked = true;
                return;
            }
            var due = Math.Max(now, _lastSent + (long)AnswerGap.TotalMilliseconds);
            if (!DueWithinASecond(_due, now) && due < _due) Arm(due);
        }
    }

    // A VM announcing within a second anyway (a young one) needs no answer: VMs starting together would multiply announcements.
    private static bool DueWithinASecond(long due, long now) => due - now <= MinIntervalMs;

    private void Arm(long due)
    {
        _due = due;
        _arm(due);
    }
}

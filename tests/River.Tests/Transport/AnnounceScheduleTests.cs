namespace River.Tests.Transport;

/// <summary>
/// When a VM announces itself by multicast: each second while young, ever more rarely once settled, and soon after
/// hearing a newcomer that must dial it. Times are the schedule's milliseconds, given explicitly; every decision is
/// checked where it is armed (the timer's due time).
/// </summary>
public sealed class AnnounceScheduleTests
{
    private readonly List<long> _armed = [];

    /// <summary>When the next announcement is due: what the schedule armed last.</summary>
    private long Due => _armed[^1];

    private AnnounceSchedule StartedAt(long started)
    {
        var schedule = new AnnounceSchedule(started, _armed.Add);
        schedule.Start();
        return schedule;
    }

    private static void Announce(AnnounceSchedule schedule, long now)
    {
        schedule.Sending();
        schedule.Sent(now);
    }

    [Fact]
    public void A_young_VM_announces_every_second_a_settled_one_every_fifth_of_its_age_up_to_30_s()
    {
        var schedule = StartedAt(1_000);
        Assert.Equal([1_000], _armed);
        Announce(schedule, 1_000);
        Assert.Equal(2_000, Due);
        Announce(schedule, 5_000); // 4 s old
        Assert.Equal(6_000, Due);
        Announce(schedule, 21_000); // 20 s old: every 4 s
        Assert.Equal(25_000, Due);
        Announce(schedule, 601_000); // 10 min old: capped
        Assert.Equal(631_000, Due);
        Assert.Equal(TimeSpan.FromSeconds(30), AnnounceSchedule.Interval(TimeSpan.FromHours(5)));
        Assert.Equal(TimeSpan.FromSeconds(1), AnnounceSchedule.Interval(TimeSpan.Zero));
    }

    [Fact]
    public void A_newcomer_is_answered_at_once_but_not_sooner_than_the_gap_after_the_last_announcement()
    {
        var schedule = StartedAt(0);
        Announce(schedule, 600_000); // settled: next in 30 s
        Assert.Equal(630_000, Due);

        schedule.Answer(600_100); // 100 ms after the last: waits for the 250 ms gap
        Assert.Equal(600_250, Due);
        schedule.Answer(600_200); // a second newcomer before it goes out: the same answer serves
        Assert.Equal(600_250, Due);
        Assert.Equal(3, _armed.Count);

        Announce(schedule, 600_250); // the answer went out: back to the settled rhythm
        Assert.Equal(630_250, Due);
        schedule.Answer(610_000); // long after: at once
        Assert.Equal(610_000, Due);
    }

    [Fact]
    public void A_young_VM_does_not_answer_its_next_announcement_within_a_second_serves()
    {
        var schedule = StartedAt(0);
        Announce(schedule, 2_000); // 2 s old: next at 3 s
        schedule.Answer(2_500);
        Assert.Equal(3_000, Due);
        schedule.Sending();
        schedule.Answer(3_000);
        schedule.Sent(3_000);
        Assert.Equal(4_000, Due);
        Assert.Equal([0, 3_000, 4_000], _armed);
    }

    [Fact]
    public void A_newcomer_heard_while_an_announcement_goes_out_is_answered_after_it()
    {
        var schedule = StartedAt(0);
        Announce(schedule, 600_000);
        schedule.Sending();
        schedule.Answer(605_000); // may have been heard after the datagram left: answered again, after the gap
        Assert.Equal(630_000, Due); // nothing armed while it goes out
        schedule.Sent(605_001);
        Assert.Equal(605_251, Due);
        Announce(schedule, 605_251); // the answer does not repeat
        Assert.Equal(635_251, Due);
    }
}

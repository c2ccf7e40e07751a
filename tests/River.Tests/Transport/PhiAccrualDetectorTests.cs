namespace River.Tests.Transport;

/// <summary>The adaptive failure detector on a clock of its own: milliseconds passed in.</summary>
public class PhiAccrualDetectorTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250), Timeout = TimeSpan.FromSeconds(2), Limit = TimeSpan.FromSeconds(2.7);

    /// <summary>A detector born at 0 that heard <paramref name="gaps"/> one after another; returns it and the last arrival.</summary>
    private static (PhiAccrualDetector Detector, long Now) After(IEnumerable<long> gaps)
    {
        var detector = new PhiAccrualDetector(Interval, Timeout, Limit, 0);
        long now = 0;
        foreach (var gap in gaps) detector.Heard(now += gap);
        return (detector, now);
    }

    private static IEnumerable<long> Steady(int count) => Enumerable.Repeat(250L, count);

    [Fact]
    public void Phi_grows_with_silence_and_crosses_the_threshold_where_the_link_is_suspected()
    {
        var (detector, _) = After(Steady(100));
        // Far below the threshold phi is too small for a double to tell apart (0 at 1 s); from there on it grows.
        Assert.Equal(0, detector.Phi(0));
        var phis = new[] { 1500L, 1700, 1900, 2100, 2500, 4000 }.Select(detector.Phi).ToList();
        for (var i = 1; i < phis.Count; i++) Assert.True(phis[i] > phis[i - 1], $"phi {phis[i]} after {phis[i - 1]}");
        var after = detector.SuspectAfter();
        Assert.True(detector.Phi(after - 10) < PhiAccrualDetector.Threshold);
        Assert.True(detector.Phi(after + 10) >= PhiAccrualDetector.Threshold);
    }

    [Fact]
    public void A_steady_link_is_suspected_at_the_failure_timeout()
    {
        var (detector, now) = After(Steady(100));
        Assert.InRange(detector.SuspectAfter(), 1950, 2050);
        Assert.Equal(1000, detector.Silence(now + 1000));
    }

    [Fact]
    public void A_link_whose_gaps_grew_waits_longer_but_never_past_the_limit()
    {
        var (steady, _) = After(Steady(100));
        // A loaded host: gaps of 250 ms to 750 ms.
        var (loaded, _) = After(Steady(40).Concat(Enumerable.Range(0, 64).Select(i => 250L + i % 5 * 125)));
        Assert.True(loaded.SuspectAfter() > steady.SuspectAfter() + 300, $"{loaded.SuspectAfter()} ms against {steady.SuspectAfter()} ms");
        Assert.True(loaded.SuspectAfter() <= 2700);
        // Wilder still: the limit holds.
        var (wild, _) = After(Enumerable.Range(0, 64).Select(i => i % 2 == 0 ? 300L : 2500L));
        Assert.Equal(2700, wild.SuspectAfter());
        // And once the link is steady again, the window forgets.
        var (calm, _) = After(Enumerable.Range(0, 64).Select(i => i % 2 == 0 ? 300L : 2500L).Concat(Steady(64)));
        Assert.InRange(calm.SuspectAfter(), 1950, 2100);
    }

    [Fact]
    public void A_new_link_starts_tolerant_and_earns_the_failure_timeout()
    {
        var (fresh, _) = After([]);
        Assert.Equal(2700, fresh.SuspectAfter());
        var (young, _) = After(Steady(4));
        Assert.InRange(young.SuspectAfter(), 2050, 2650);
        var (known, _) = After(Steady(40));
        Assert.InRange(known.SuspectAfter(), 1950, 2050);
    }

    [Fact]
    public void A_busy_link_learns_gaps_no_shorter_than_half_an_interval()
    {
        // A frame every millisecond for 20 s: the detector must not conclude a 10 ms silence is suspect.
        var (detector, _) = After(Enumerable.Repeat(1L, 20_000));
        Assert.InRange(detector.SuspectAfter(), 2000, 2700);
    }

    [Fact]
    public void Outages_are_not_learnt_as_the_links_rhythm()
    {
        var (detector, _) = After(Steady(60).Append(10_000L).Concat(Steady(3)));
        Assert.InRange(detector.SuspectAfter(), 1950, 2050);
    }

    [Fact]
    public void Time_this_VM_itself_was_stalled_is_not_counted_as_silence()
    {
        var (detector, now) = After(Steady(100));
        // Silent 200 ms, then our own heartbeat thread stalled 5 s: only the 200 ms and what follows count.
        detector.Excuse(now + 200, now + 5200);
        Assert.Equal(300, detector.Silence(now + 5300));
        // A stall that began before the last arrival excuses only what came after it.
        detector.Heard(now + 6000);
        detector.Excuse(now + 5900, now + 6500);
        Assert.Equal(500, detector.Silence(now + 7000));
        // Heard again: the excuse was for the silence before.
        detector.Heard(now + 7100);
        Assert.Equal(100, detector.Silence(now + 7200));
    }

    [Fact]
    public void The_limit_is_never_below_the_failure_timeout()
    {
        var detector = new PhiAccrualDetector(TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(2.7), 0);
        Assert.Equal(60_000, detector.SuspectAfter());
    }
}

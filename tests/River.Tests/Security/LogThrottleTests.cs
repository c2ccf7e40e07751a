namespace River.Tests.Security;

/// <summary>Refusal logs under a flood: one line per source and interval, carrying the count of those not logged.</summary>
public sealed class LogThrottleTests
{
    [Fact]
    public async Task One_event_per_source_and_interval_is_logged_and_the_next_line_counts_the_rest()
    {
        var throttle = new LogThrottle(TimeSpan.FromMilliseconds(200));
        Assert.True(throttle.ShouldLog("10.0.0.1", out var none));
        Assert.Equal(0, none);
        for (var i = 0; i < 500; i++) Assert.False(throttle.ShouldLog("10.0.0.1", out _));
        Assert.True(throttle.ShouldLog("10.0.0.2", out _)); // another source has a window of its own
        await Task.Delay(300);
        Assert.True(throttle.ShouldLog("10.0.0.1", out var suppressed));
        Assert.Equal(500, suppressed);
        Assert.False(throttle.ShouldLog("10.0.0.1", out _));
    }

    [Fact]
    public void Text_from_the_network_is_logged_without_control_characters_and_bounded()
    {
        Assert.Equal("river", LogText.Escape("river"));
        Assert.Equal("a\\x0dforged\\x0a\\x1b[31m", LogText.Escape("a\rforged\n\u001b[31m"));
        var long_ = LogText.Escape(new string('x', 10_000));
        Assert.True(long_.Length < 300, long_.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains("10000 chars", long_, StringComparison.Ordinal);
    }
}

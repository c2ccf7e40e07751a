namespace River.Tests.Mirroring;

/// <summary>
/// <see cref="Coalescer"/>, which mirror groups send their log and acknowledgements with: requests made while the work
/// waits or runs share one more run, never two at a time, and none is lost.
/// </summary>
public sealed class CoalescerTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public void Requests_while_the_work_runs_make_it_run_once_more()
    {
        var runs = 0;
        using var running = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var coalescer = new Coalescer(() =>
        {
            if (Interlocked.Increment(ref runs) == 1)
            {
                running.Set();
                Assert.True(release.Wait(Bound));
            }
        }, e => Assert.Fail(e.ToString()));
        coalescer.Request();
        Assert.True(running.Wait(Bound));
        for (var i = 0; i < 50; i++) coalescer.Request();
        release.Set();
        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref runs) >= 2, Bound));
        Thread.Sleep(100); // a third run would need a third request
        Assert.Equal(2, Volatile.Read(ref runs));
    }

    [Fact]
    public void Delayed_requests_share_one_run_and_a_later_request_runs_again()
    {
        var runs = 0;
        // Long enough that the burst below cannot straddle it, even on a loaded machine.
        const int delayMs = 1_000;
        var coalescer = new Coalescer(() => Interlocked.Increment(ref runs), e => Assert.Fail(e.ToString()), delayMs);
        for (var i = 0; i < 100; i++) coalescer.Request();
        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref runs) >= 1, Bound));
        Thread.Sleep(delayMs * 3 / 2); // a second run of the burst would have come by now
        Assert.Equal(1, Volatile.Read(ref runs));
        coalescer.Request();
        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref runs) >= 2, Bound));
        Thread.Sleep(delayMs * 3 / 2);
        Assert.Equal(2, Volatile.Read(ref runs));
    }
}

using Microsoft.Playwright;
using River.Tests.Cluster;
using Xunit.Abstractions;

namespace River.Tests.Dashboard;

/// <summary>
/// <c>river dashboard</c> in a real headless browser (Debian's chromium, driven by Playwright): the page lists
/// 3 live <c>river vm</c> processes, the VRs the test deployed with their queues, live link rates and a VR's
/// failure, and shows a VM gone, with a failure entry, once the test kills it.
/// Set RIVER_SCREENSHOT_DIR to keep the page as dashboard.png there (docs/dashboard.png is made so).
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class DashboardTests(ITestOutputHelper output) : ProcessTest(output)
{
    private const string Chromium = "/usr/bin/chromium";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly LocatorAssertionsToHaveCountOptions Count = new() { Timeout = (float)Bound.TotalMilliseconds };
    private static readonly LocatorAssertionsToBeVisibleOptions Visible = new() { Timeout = (float)Bound.TotalMilliseconds };

    [Fact]
    public async Task The_page_lists_live_VMs_and_VRs_and_shows_a_killed_VM_gone()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: this test needs Debian's chromium (apt-get install -y chromium; .ci/run installs it).");
        _vms.AddRange(await VmProcess.StartManyAsync(_cluster, 3));
        var (idle, doomed, failing) = await DeployAsync();
        using var dashboard = ChildProcess.Dotnet(Built.RiverCli, ["dashboard", "--port", "0", "--interval", "0.5", "--seeds", _vms[0].Address, .. _cluster.Args]);
        var url = (await dashboard.WaitForStdoutAsync(l => l.StartsWith("River dashboard", StringComparison.Ordinal), Bound)).Split(' ')[^1];

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1280, Height = 860 } });
        await page.GotoAsync(url);

        // Every VM, its VRs and the queue the test filled; the failed VR; every link's graph; a link with traffic.
        await Assertions.Expect(page.Locator("#vms tbody tr[data-vm]")).ToHaveCountAsync(3, Count);
        foreach (var vm in _vms) await Assertions.Expect(page.Locator($"#vms tr[data-vm='{vm.Id}']")).ToBeVisibleAsync(Visible);
        await Assertions.Expect(page.Locator($"#vms tr[data-vm='{_vms[0].Id}'] [data-vr='{idle}'] .queued")).ToHaveTextAsync("3", new() { Timeout = Count.Timeout });
        await Assertions.Expect(page.Locator($"#vms tr[data-vm='{_vms[1].Id}'] [data-vr='{doomed}']")).ToBeVisibleAsync(Visible);
        await Assertions.Expect(page.Locator($"#failures li[data-kind='VrFailed'][data-subject='{failing}']")).ToBeVisibleAsync(Visible);
        await Assertions.Expect(page.Locator("#links .link")).ToHaveCountAsync(6, Count);
        await Assertions.Expect(page.Locator("#topology circle[data-vm]")).ToHaveCountAsync(3, Count);
        await Assertions.Expect(page.Locator($"#links .link[data-link='{_vms[0].Id}>{_vms[2].Id}'] .rate")).Not.ToHaveTextAsync("0.0", new() { Timeout = Count.Timeout });
        await Assertions.Expect(page.Locator("#live")).ToHaveTextAsync("live");

        // SIGKILL: no goodbye. The page drops the VM and its VR, lists it gone and says so among the failures.
        _vms[1].Kill();
        await Assertions.Expect(page.Locator("#vms tbody tr[data-vm]")).ToHaveCountAsync(2, Count);
        await Assertions.Expect(page.Locator($"#vms tr[data-vm='{_vms[1].Id}']")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator($"[data-vr='{doomed}']")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator($"[data-vr='{idle}']")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator($"#gone li[data-gone='{_vms[1].Id}']")).ToBeVisibleAsync(Visible);
        await Assertions.Expect(page.Locator($"#topology circle.gone[data-gone='{_vms[1].Id}']")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator($"#failures li[data-kind='VmLost'][data-subject='{_vms[1].Id}']").First).ToBeVisibleAsync(Visible);
        if (Environment.GetEnvironmentVariable("RIVER_SCREENSHOT_DIR") is { Length: > 0 } dir)
        {
            await page.WaitForTimeoutAsync(20_000); // for the picture only: the link graphs fill up
            await page.ScreenshotAsync(new() { Path = Path.Combine(dir, "dashboard.png"), FullPage = true });
        }
        Assert.False(dashboard.HasExited, dashboard.ToString());
    }

    /// <summary>
    /// From a VM in this process, which then leaves: an idle VR on VM 0 with 3 packets it never takes, an idle VR on
    /// VM 1 (the VM the test kills), a VR on VM 2 that fails, and a ticker on VM 0 that keeps a link busy with an echo
    /// on VM 2.
    /// </summary>
    private async Task<(VrId Idle, VrId Doomed, VrId Failing)> DeployAsync()
    {
        var options = _cluster.Options();
        options.Seeds.Add(_vms[0].Address);
        await using var local = await RiverVm.JoinAsync(options);
        VrId idle = default, doomed = default, failing = default;
        await Probe.Run(local, me =>
        {
            var vms = me.Discover(4, Bound).Where(v => v.Id != local.Id).ToList(); // two are learned from the seed, after the join
            VmInfo On(int i) => vms.Single(v => v.Id.ToString() == _vms[i].Id);
            idle = me.Deploy<Idle>(On(0));
            doomed = me.Deploy<Idle>(On(1));
            for (var i = 0; i < 3; i++) me.Send(idle, new { tag = "later", i });
            failing = me.Deploy<Failing>(On(2));
            me.Deploy<Ticker>(On(0), me.Deploy<Echo>(On(2)));
        }).WaitAsync(Bound);
        return (idle, doomed, failing);
    }

    /// <summary>Waits for a packet nobody sends: what it was sent stays queued.</summary>
    public sealed class Idle : VirtualResource
    {
        protected override void Main() => Recv(new { tag = "never" });
    }

    public sealed class Failing : VirtualResource
    {
        protected override void Main() => throw new InvalidOperationException("failed on purpose");
    }

    /// <summary>Pings its echo every 20 ms, for a link rate to show.</summary>
    public sealed class Ticker : VirtualResource
    {
        protected override void Main()
        {
            var echo = (VrId)DeployArgs[0]!;
            while (true)
            {
                Send(echo, new { tag = "tick" });
                Recv(new { tag = "tock" });
                Thread.Sleep(20);
            }
        }
    }

    public sealed class Echo : VirtualResource
    {
        protected override void Main()
        {
            while (true) Send(Recv(new { tag = "tick" }).Src, new { tag = "tock" });
        }
    }
}

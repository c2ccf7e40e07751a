using River;

/// <summary>
/// The VR this sample (and the mirroring tests) run mirrored: it adds each request's <c>k</c> to a running sum and answers with it,
/// until "stop". With <c>DeployArgs[0]</c> true it also polls with <c>TryRecv</c> and a timed <c>Recv</c> and asks
/// <c>Discover</c>, and reports what those returned: their outcomes differ by timing, so replicas agree only if
/// the primary's outcomes are replayed.
/// </summary>
public sealed class MirroredCounter : VirtualResource
{
    protected override void Main()
    {
        var timing = DeployArgs is [true, ..];
        long sum = 0;
        int misses = 0, vms = 0;
        while (true)
        {
            Packet p;
            if (!timing) p = Recv();
            else
            {
                while (!TryRecv((object?)null, out p))
                {
                    misses++;
                    try
                    {
                        p = Recv((object?)null, TimeSpan.FromMilliseconds(misses % 3));
                        break;
                    }
                    catch (TimeoutException)
                    {
                        misses++;
                    }
                }
                vms = Discover().Count;
            }
            if (p.Get<string>("tag") == "stop") return;
            var k = p.Get<int>("k");
            sum += k;
            Send(p.Src, new { tag = "sum", k, sum, misses, vms });
        }
    }
}

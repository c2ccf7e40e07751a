using System.Diagnostics;
using River;

// A stream of numbered packets to a VR on another VM (the first with attribute role=sink, else the last
// one), which checks that each arrives once and in order, and reports. `--count N` packets of `--size B`
// bytes; `--pause-every K` makes the sink sleep 1 ms every K packets (a slow consumer). Across a pause or a
// cut shorter than the grace period nothing is lost; past it, the sender is told how many packets were lost.
return await RiverApp.RunAsync<NumberedStream>(args);

public sealed class NumberedStream : VirtualResource
{
    protected override void Main()
    {
        if (Parent is null) Source();
        else Sink();
    }

    private void Source()
    {
        int count = Args.Option("--count", 100_000), size = Args.Option("--size", 1024);
        var vms = Discover().Where(v => v.Id != Vm.Id).ToList();
        if (vms.Count == 0) throw new InvalidOperationException("the stream needs a second VM");
        var sink = Deploy<NumberedStream>(vms.FirstOrDefault(v => Equals(v.Attributes.GetValueOrDefault("role"), "sink")) ?? vms[^1], Args.Option("--pause-every", 0, min: 0));
        var data = new byte[size];
        var watch = Stopwatch.StartNew();
        try
        {
            for (var i = 0; i < count; i++) Send(sink, new { tag = "n", i, data });
            Send(sink, new { tag = "end", count });
            var answer = Recv(new { tag = Match.OneOf("report", RiverVm.UndeliverableTag) });
            if (answer.Get<string>("tag") == RiverVm.UndeliverableTag) throw Lost(answer.Get<int>("count"));
            Console.WriteLine($"received {answer.Get<long>("received")} of {count}, gaps {answer.Get<long>("gaps")}, duplicates {answer.Get<long>("duplicates")}, " +
                $"in {watch.Elapsed.TotalSeconds:0.0} s");
        }
        catch (VmGoneException e)
        {
            // The count of packets lost in flight follows the exception closely (none comes when none was lost).
            int lost;
            try
            {
                lost = Recv(new { tag = RiverVm.UndeliverableTag }, TimeSpan.FromSeconds(5)).Get<int>("count");
            }
            catch (TimeoutException)
            {
                lost = 0;
            }
            throw Lost(lost, e);
        }
    }

    private static InvalidOperationException Lost(int count, Exception? inner = null) =>
        new($"the sink's VM is gone: {count} packets in flight were lost", inner);

    private void Sink()
    {
        var pauseEvery = (int)DeployArgs[0]!;
        long next = 0, received = 0, gaps = 0, duplicates = 0;
        while (true)
        {
            var p = Recv(new { tag = Match.OneOf("n", "end") });
            if (p.Get<string>("tag") == "end") break;
            var i = p.Get<int>("i");
            received++;
            if (i < next) duplicates++;
            else
            {
                if (i > next) gaps++;
                next = i + 1;
            }
            if (pauseEvery > 0 && received % pauseEvery == 0) Thread.Sleep(1);
        }
        Send(Parent!.Value, new { tag = "report", received, gaps, duplicates });
    }
}

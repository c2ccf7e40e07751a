using System.Diagnostics;
using River;

// Latency between two VRs: the initiator pings an echo VR on another VM (when there is one)
// `--rounds N` times and prints the median round trip.
return await RiverApp.RunAsync<PingPong>(args);

public sealed class PingPong : VirtualResource
{
    protected override void Main()
    {
        if (Parent is null) Ping(Args.Option("--rounds", 10_000));
        else Echo((int)DeployArgs[0]!);
    }

    private void Ping(int rounds)
    {
        var vms = Discover();
        // Discover lists this VM first: any other VM makes the trip cross a VM boundary.
        var echo = Deploy<PingPong>(vms[^1], rounds);
        var ticks = new long[rounds];
        for (var i = 0; i < rounds; i++)
        {
            var start = Stopwatch.GetTimestamp();
            Send(echo, new { tag = "ping", n = i });
            var pong = Recv(new { tag = "pong" });
            ticks[i] = Stopwatch.GetTimestamp() - start;
            if (pong.Get<int>("n") != i) throw new InvalidOperationException($"pong {pong.Get<int>("n")} answered ping {i}");
        }
        Array.Sort(ticks);
        Console.WriteLine($"ping on VM {Vm.Id}, echo on VM {vms[^1].Id}");
        Console.WriteLine($"round trips: {rounds}");
        Console.WriteLine($"median latency: {Stopwatch.GetElapsedTime(0, ticks[rounds / 2]).TotalMicroseconds:F1} us");
    }

    // The echo knows how many pings come, so it ends by itself after the last one.
    private void Echo(int rounds)
    {
        for (var i = 0; i < rounds; i++)
        {
            var ping = Recv(new { tag = "ping" });
            Send(ping.Src, new { tag = "pong", n = ping.Get<int>("n") });
        }
    }
}

using River;
using Versioned;

// Which build of the Versioned library do this program's VRs run on each VM? The initiator deploys a
// worker on every VM process (attribute role=vm) and prints what each reports. With `--hold-file F`
// a worker then stays deployed, its program's code loaded, until F exists or `--hold-seconds S`
// (default 60) pass, so a test can run another program beside it or kill it.
return await RiverApp.RunAsync<VersionProbe>(args);

public sealed class VersionProbe : VirtualResource
{
    protected override void Main()
    {
        if (Parent is null)
        {
            var workers = Deploy<VersionProbe>(Discover(new { role = "vm" }));
            Console.WriteLine($"initiator: {Describe()}");
            foreach (var w in workers)
            {
                var report = Recv(new { tag = "version", src = w });
                Console.WriteLine($"worker on {report.Get<string>("vm")}: {report.Get<string>("text")}");
            }
            Console.WriteLine($"workers: {workers.Count}");
        }
        else
        {
            Send(Parent.Value, new { tag = "version", vm = $"{Vm.Host}:{Vm.Port}", text = Describe() });
            if (Option("--hold-file") is { } file) Hold(file, TimeSpan.FromSeconds(int.Parse(Option("--hold-seconds") ?? "60")));
        }
    }

    private static string Describe() => $"{Lib.Describe()} (assembly {typeof(Lib).Assembly.GetName().Version})";

    private string? Option(string name)
    {
        var i = Args.ToList().IndexOf(name);
        return i >= 0 && i + 1 < Args.Count ? Args[i + 1] : null;
    }

    // Waits in Recv, not Sleep: `river kill` closes the queue, which ends the VR at once.
    private void Hold(string file, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!File.Exists(file) && DateTime.UtcNow < deadline)
        {
            try
            {
                Recv(new { tag = "release" }, TimeSpan.FromMilliseconds(100));
                return;
            }
            catch (TimeoutException)
            {
                // look at the file again
            }
        }
    }
}

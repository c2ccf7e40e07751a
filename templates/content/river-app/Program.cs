using River;

// One VR per VM answers the initiator with its VM's address; run with `--vms 4` for four VMs,
// or with `--seeds host:port --key-file FILE` to join a cluster of `river vm` processes.
return await RiverApp.RunAsync<Greeter>(args);

public sealed class Greeter : VirtualResource
{
    protected override void Main()
    {
        if (Parent is null)
        {
            var workers = Deploy<Greeter>(Discover());
            foreach (var worker in workers)
                Console.WriteLine(Recv(new { src = worker, tag = "hello" }).Get<string>("text"));
        }
        else
        {
            Send(Parent.Value, new { tag = "hello", text = $"Hello from {Id} on {Vm.Host}:{Vm.Port}" });
        }
    }
}

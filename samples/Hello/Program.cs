using River;

// Every VR says hello from its VM; the initiator prints the greetings in VM order.
return await RiverApp.RunAsync<Hello>(args);

public sealed class Hello : VirtualResource
{
    protected override void Main()
    {
        if (Parent is null)
        {
            var vms = Discover();
            var workers = Deploy<Hello>(vms);
            foreach (var w in workers) Console.WriteLine(Recv(new { src = w, tag = "hello" }).Get<string>("text"));
            Console.WriteLine($"{workers.Count} VRs said hello");
        }
        else
        {
            Send(Parent.Value, new { tag = "hello", text = $"Hello from VR {Id} on VM {Vm.Id} ({Vm.Host}:{Vm.Port})" });
        }
    }
}

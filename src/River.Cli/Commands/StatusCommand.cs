using System.CommandLine;
using System.Text.Json;

namespace River.Cli.Commands;

/// <summary><c>river status</c>: the VMs of a cluster and the VRs on each, as a table or JSON.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var cluster = new ClusterArguments();
        var json = new Option<bool>("--json") { Description = "One JSON document, for scripts." };
        var command = new Command("status", "Show the VMs and VRs of a cluster.") { json };
        cluster.AddTo(command, bind: false);
        command.SetAction(parse =>
        {
            var options = cluster.Read(parse);
            var replies = ClusterStatus.Collect(cluster.SeedList(parse).DefaultIfEmpty("127.0.0.1:7700"), options,
                (_, e) => Console.Error.WriteLine($"river: {e.Message}")); // the message names the VM
            if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(replies.Select(ToJson), new JsonSerializerOptions { WriteIndented = true }));
            else Print(replies);
            return replies.Count > 0 ? 0 : 1;
        });
        return command;
    }

    private static object ToJson(VmStatus r) => new
    {
        id = r.Vm.Id.ToString(),
        address = $"{r.Vm.Host}:{r.Vm.Port}",
        attributes = r.Vm.Attributes.ToDictionary(kv => kv.Key, kv => kv.Value?.ToString()),
        packetsIn = r.PacketsIn,
        packetsOut = r.PacketsOut,
        undeliverable = r.Undeliverable,
        vrs = r.Vrs.Select(v => new { id = v.Id.ToString(), type = v.Type, parent = v.Parent?.ToString(), queued = v.Queued }),
        members = r.Members.Select(m => $"{m.Host}:{m.Port}"),
        links = r.Links.Select(l => new
        {
            peer = l.Peer.ToString(),
            state = l.State,
            framesSent = l.FramesSent,
            framesReceived = l.FramesReceived,
            bytesSent = l.BytesSent,
            bytesReceived = l.BytesReceived,
            totalBytesSent = l.TotalBytesSent,
            totalBytesReceived = l.TotalBytesReceived,
        }),
    };

    private static void Print(IReadOnlyList<VmStatus> replies)
    {
        Console.WriteLine($"{"VM",-36}  {"address",-21}  {"cores",5}  {"vrs",5}  {"in",9}  {"out",9}  attributes");
        foreach (var r in replies)
        {
            var a = r.Vm.Attributes;
            var user = string.Join(' ', a.Where(kv => kv.Key is not (VmInfo.Cores or VmInfo.Vrs or VmInfo.Os or VmInfo.Memory)).Select(kv => $"{kv.Key}={kv.Value}"));
            Console.WriteLine($"{r.Vm.Id,-36}  {r.Vm.Host + ":" + r.Vm.Port,-21}  {a.GetValueOrDefault(VmInfo.Cores),5}  {r.Vrs.Count,5}  {r.PacketsIn,9}  {r.PacketsOut,9}  {user}");
        }
        var vrs = replies.SelectMany(r => r.Vrs.Select(v => (Vm: r.Vm.Id, Vr: v))).ToList();
        if (vrs.Count == 0) return;
        Console.WriteLine();
        Console.WriteLine($"{"VR",-36}  {"type",-30}  {"VM",-36}  queued");
        foreach (var (vm, v) in vrs) Console.WriteLine($"{v.Id,-36}  {v.Type,-30}  {vm,-36}  {v.Queued}");
    }
}

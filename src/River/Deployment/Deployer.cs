using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.Loader;
using Microsoft.Extensions.Logging;

namespace River;

/// <summary>
/// Starting VRs on other VMs, and on this one for others: a deploy request names the VR type and the
/// program's assemblies by hash; a VM that lacks some says so and gets them shipped before the
/// request is repeated. Shipped code is loaded per program run and unloaded with its last VR here.
/// </summary>
internal sealed class Deployer(RiverVm local, CodeCache code, TimeSpan timeout, ILogger logger)
{
    private readonly ConcurrentDictionary<long, TaskCompletionSource<DeployReply>> _replies = new();
    private readonly ConcurrentDictionary<Guid, ProgramRun> _runs = new();
    private long _nextRequest;

    public IReadOnlyList<VrId> Deploy(Type type, IEnumerable<VmInfo> vms, VrContext caller, object?[] deployArgs)
    {
        ArgumentNullException.ThrowIfNull(vms);
        VrFactory.Check(type);
        local.Serializer.AllowList.AllowProgram(type.Assembly);
        object?[] copied;
        using (TypeResolver.Enter(caller.Run.Code)) copied = local.CopyArgs(deployArgs ?? [null]);
        var targets = vms.ToList();
        var ids = new VrId[targets.Count];
        var remote = new List<(VmInfo Vm, DeployRequest Request)>();
        for (var i = 0; i < targets.Count; i++)
        {
            var vm = targets[i] ?? throw new ArgumentException("A VM to deploy on is null.");
            ids[i] = VrId.New();
            if (vm.Id == local.Id) local.StartLocal(type, ids[i], caller.Id, caller.Args, copied, caller.Run);
            else remote.Add((vm, new DeployRequest(0, ids[i], type.AssemblyQualifiedName!, caller.Id, [.. caller.Args], ArgBytes(copied), caller.Run.Id, ProgramCode(type))));
        }
        // First round: every VM at once. A VM that lacks the program's code says which; it is shipped and asked again.
        var missing = AskAll(type, remote);
        if (missing.Count > 0)
        {
            foreach (var (vm, request, hashes) in missing)
                foreach (var assembly in ProgramAssemblies.Of(type.Assembly).Where(a => hashes.Contains(ProgramAssemblies.RefOf(a)?.Hash)))
                    PeerFor(vm, type).Send(Frames.Control(local.Serializer, new CodeUpload(ProgramAssemblies.RefOf(assembly)!.Hash, ProgramAssemblies.BytesOf(assembly))));
            if (AskAll(type, [.. missing.Select(m => (m.Vm, m.Request))]) is [var (vm2, _, still), ..])
                throw new DeployException($"VM {vm2.Id} still lacks code for {type.FullName} after it was shipped: {string.Join(", ", still)}.");
        }
        foreach (var (vm, request) in remote) local.Router.Learn(request.Id, vm.Id);
        return ids;
    }

    /// <summary>Sends each request and waits for every reply; returns the requests whose VM lacks code.</summary>
    private List<(VmInfo Vm, DeployRequest Request, string[] Missing)> AskAll(Type type, List<(VmInfo Vm, DeployRequest Request)> requests)
    {
        var waits = new List<(VmInfo Vm, DeployRequest Request, Task<DeployReply> Reply)>();
        foreach (var (vm, request) in requests)
        {
            var numbered = request with { RequestId = Interlocked.Increment(ref _nextRequest) };
            var reply = new TaskCompletionSource<DeployReply>(TaskCreationOptions.RunContinuationsAsynchronously);
            _replies[numbered.RequestId] = reply;
            local.Router.Learn(numbered.Id, vm.Id);
            PeerFor(vm, type).Send(Frames.Control(local.Serializer, numbered));
            waits.Add((vm, numbered, reply.Task));
        }
        Corking.Flush();
        var missing = new List<(VmInfo, DeployRequest, string[])>();
        foreach (var (vm, request, reply) in waits)
        {
            if (!reply.Wait(timeout))
            {
                _replies.TryRemove(request.RequestId, out _);
                throw new DeployException($"VM {vm.Id} did not confirm the start of {type.FullName} within {timeout}.");
            }
            if (reply.Result.Error is { } error) throw new DeployException($"VM {vm.Id} could not start {type.FullName}: {error}");
            if (reply.Result.MissingCode is { Length: > 0 } lacks) missing.Add((vm, request, lacks));
        }
        return missing;
    }

    private IPeer PeerFor(VmInfo vm, Type type) => local.Membership.PeerOf(vm.Id)
        ?? throw new DeployException($"Cannot deploy {type.FullName} on VM {vm.Id}: it is not a member of this cluster (any more).");

    private static CodeRef[] ProgramCode(Type type) =>
        [.. ProgramAssemblies.Of(type.Assembly).Select(ProgramAssemblies.RefOf).OfType<CodeRef>()];

    private byte[] ArgBytes(object?[] args)
    {
        var buffer = new ArrayBufferWriter<byte>();
        local.Serializer.WriteValue(buffer, "args", args);
        return buffer.WrittenSpan.ToArray();
    }

    public DeployReply StartRequested(DeployRequest d)
    {
        try
        {
            // Only a member that passed the cluster's handshake can send this: deploying its code is allowed.
            var shipped = d.Code.Where(c => !LoadedHere(c)).ToList();
            var missing = shipped.Where(c => !code.Has(c.Hash)).Select(c => c.Hash).ToArray();
            if (missing.Length > 0) return new DeployReply(d.RequestId, null, missing);
            var run = new ProgramRun.Ref(d.Run, shipped.Count == 0 ? null : _runs.GetOrAdd(d.Run, id => new ProgramRun(id, d.Code, code)));
            using var scope = TypeResolver.Enter(run.Code);
            var type = local.Serializer.Types.Resolve(d.TypeName) ?? throw new DeployException($"type {d.TypeName} is not known on this VM");
            local.Serializer.AllowList.AllowProgram(type.Assembly);
            var args = local.Serializer.ReadValue(d.DeployArgs) as object?[] ?? [];
            local.StartLocal(type, d.Id, d.Parent, d.Args, args, run);
            logger.Deployed(type.FullName!, d.Id, d.Parent);
            return new DeployReply(d.RequestId, null);
        }
        catch (Exception e)
        {
            // Bad code, bad arguments or a stopping VM: the deployer gets the reason, this VM carries on.
            logger.DeployRefused(d.TypeName, e.Message);
            return new DeployReply(d.RequestId, e.Message);
        }
    }

    /// <summary>True when this VM's own context already holds exactly this assembly (an embedded cluster, or a shared library).</summary>
    private static bool LoadedHere(CodeRef code) =>
        AssemblyLoadContext.Default.Assemblies.Any(a => a.GetName().Name == code.Name && ProgramAssemblies.RefOf(a)?.Hash == code.Hash);

    public void OnReply(DeployReply reply)
    {
        if (_replies.TryRemove(reply.RequestId, out var waiting)) waiting.TrySetResult(reply);
    }

    public void OnCodeUpload(CodeUpload upload) => code.Put(upload.Hash, upload.Bytes);

    /// <summary>A VR of <paramref name="run"/> ended here: unload the run's shipped code with its last VR.</summary>
    public void Release(ProgramRun.Ref run)
    {
        if (run.Code is { } shipped && shipped.RemoveVr() && _runs.TryRemove(new KeyValuePair<Guid, ProgramRun>(shipped.Id, shipped)))
            shipped.Unload();
    }
}

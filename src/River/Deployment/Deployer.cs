using System.Buffers;
using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.Extensions.Logging;

namespace River;

/// <summary>
/// Starting VRs on other VMs, and on this one for others: a deploy request names the VR type and the
/// program's assemblies by hash; a VM that lacks some says so and gets them shipped before the
/// request is repeated. Shipped code is loaded per program run and unloaded with its last VR here.
/// What others may deploy here is this VM's policy (<see cref="RiverVmOptions.AllowDeploy"/>,
/// <see cref="RiverVmOptions.AllowedPrograms"/>), checked before any shipped byte is stored or loaded.
/// </summary>
internal sealed class Deployer(RiverVm local, CodeCache code, RiverVmOptions options, ILogger logger)
{
    private readonly TimeSpan _timeout = options.DeployTimeout;
    private readonly bool _allowDeploy = options.AllowDeploy;

    // Read once, so a caller changing the options later cannot race this VM's checks.
    private readonly HashSet<string> _allowedPrograms = [.. options.AllowedPrograms.Select(h => h.Trim().ToUpperInvariant())];

    private readonly ConcurrentDictionary<long, TaskCompletionSource<DeployReply>> _replies = new();
    private readonly ConcurrentDictionary<Guid, ProgramRun> _runs = new();
    private long _nextRequest;

    /// <summary>
    /// Starts one <paramref name="type"/> on each VM, each under a new id, or all under <paramref name="id"/> (the replicas
    /// of a mirrored VR), as children of <paramref name="parent"/> (default: the caller).
    /// </summary>
    public IReadOnlyList<VrId> Deploy(Type type, IEnumerable<VmInfo> vms, VrContext caller, object?[] deployArgs, VrId? id = null, VrId? parent = null)
    {
        ArgumentNullException.ThrowIfNull(vms);
        VrFactory.Check(type);
        using var span = RiverMetrics.Activities.StartActivity("river.deploy");
        span?.SetTag("river.vr.type", type.FullName);
        span?.SetTag("river.vm", local.Id.ToString());
        local.Serializer.AllowList.AllowProgram(type);
        object?[] copied;
        using (TypeResolver.Enter(caller.Run.Code)) copied = local.CopyArgs(deployArgs ?? [null]);
        var targets = vms.ToList();
        if (local.Checkpoints.Redeploy(caller, targets.Count) is { } restarted) return restarted; // --restart: started already
        var ids = new VrId[targets.Count];
        for (var i = 0; i < targets.Count; i++) ids[i] = id ?? VrId.New();
        DeployAs(type, targets, ids, parent ?? caller.Id, caller.Args, copied, caller.Run);
        local.Checkpoints.Deployed(caller, ids);
        span?.SetTag("river.deploy.count", ids.Length);
        return ids;
    }

    /// <summary>Starts VRs of given ids, parent and run (a VR restarted from a checkpoint keeps its own).</summary>
    public void DeployAs(Type type, IReadOnlyList<VmInfo> targets, IReadOnlyList<VrId> ids, VrId? parent, IReadOnlyList<string> args, object?[] copied, ProgramRun.Ref run)
    {
        var remote = new List<(VmInfo Vm, DeployRequest Request)>();
        // The new VR's VM learns its parent's route from the request: one on another VM is named, or it would be taken as here.
        var parentVm = parent is { } p && !local.TryGetLocal(p, out _) ? local.Router.LocationOf(p)?.RemoteId : null;
        for (var i = 0; i < targets.Count; i++)
        {
            var vm = targets[i] ?? throw new ArgumentException("A VM to deploy on is null.");
            if (vm.Id == local.Id) local.StartLocal(type, ids[i], parent, args, copied, run);
            else remote.Add((vm, new DeployRequest(0, ids[i], type.AssemblyQualifiedName!, parent, [.. args], ArgBytes(copied), run.Id, ProgramCode(type), parentVm)));
        }
        // First round: every VM at once. A VM that lacks the program's code says which; it is shipped and asked again.
        var missing = AskAll(type, remote);
        if (missing.Count > 0)
        {
            foreach (var (vm, request, hashes) in missing)
                foreach (var assembly in ProgramAssemblies.Of(type).Where(a => hashes.Contains(ProgramAssemblies.RefOf(a)?.Hash)))
                    PeerFor(vm, type).Send(Frames.Control(local.Serializer, new CodeUpload(ProgramAssemblies.RefOf(assembly)!.Hash, ProgramAssemblies.BytesOf(assembly))));
            if (AskAll(type, [.. missing.Select(m => (m.Vm, m.Request))]) is [var (vm2, _, still), ..])
                throw new DeployException($"VM {vm2.Id} still lacks code for {type.FullName} after it was shipped: {string.Join(", ", still)}.");
        }
        foreach (var (vm, request) in remote) local.Router.Learn(request.Id, vm.Id);
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
            if (!reply.Wait(_timeout))
            {
                _replies.TryRemove(request.RequestId, out _);
                throw new DeployException($"VM {vm.Id} did not confirm the start of {type.FullName} within {_timeout}.");
            }
            if (reply.Result.Error is { } error) throw new DeployException($"VM {vm.Id} could not start {type.FullName}: {error}");
            if (reply.Result.MissingCode is { Length: > 0 } lacks) missing.Add((vm, request, lacks));
        }
        return missing;
    }

    private IPeer PeerFor(VmInfo vm, Type type) => local.Membership.PeerOf(vm.Id)
        ?? throw new DeployException($"Cannot deploy {type.FullName} on VM {vm.Id}: it is not a member of this cluster (any more).");

    private static CodeRef[] ProgramCode(Type type) =>
        [.. ProgramAssemblies.Of(type).Select(ProgramAssemblies.RefOf).OfType<CodeRef>()];

    public byte[] ArgBytes(object?[] args)
    {
        var buffer = new ArrayBufferWriter<byte>();
        local.Serializer.WriteValue(buffer, "args", args);
        return buffer.WrittenSpan.ToArray();
    }

    public DeployReply StartRequested(DeployRequest d)
    {
        try
        {
            // Only a member that passed the cluster's handshake can send this; what it may deploy is this VM's policy.
            var shipped = d.Code.Where(c => !LoadedHere(c)).ToList();
            if (PolicyRefusal(shipped.Select(c => c.Hash)) is { } refusal) throw new DeployException(refusal);
            var missing = shipped.Where(c => !code.Has(c.Hash)).Select(c => c.Hash).ToArray();
            if (missing.Length > 0) return new DeployReply(d.RequestId, null, missing);
            var run = new ProgramRun.Ref(d.Run, shipped.Count == 0 ? null : _runs.GetOrAdd(d.Run, id => new ProgramRun(id, d.Code, code)));
            using var scope = TypeResolver.Enter(run.Code);
            var type = TypeResolver.Load(d.TypeName);
            // The type first: a library type on this VM that is no VR, or no part of the request's code, widens nothing.
            VrFactory.Check(type);
            if (CodeOf(type.Assembly, run.Code) is not { } own || !d.Code.Contains(own))
                throw new DeployException($"type {type.FullName} is not in the program's code the request lists");
            foreach (var assembly in Loaded(d.Code, run.Code)) local.Serializer.AllowList.Allow(assembly);
            var args = local.Serializer.ReadValue(d.DeployArgs) as object?[] ?? [];
            local.StartLocal(type, d.Id, d.Parent, d.Args, args, run);
            RiverMetrics.Deployed(local.Id);
            logger.Deployed(type.FullName!, d.Id, d.Parent);
            return new DeployReply(d.RequestId, null);
        }
        catch (Exception e)
        {
            // Bad code, bad arguments, this VM's policy or a stopping VM: the deployer gets the reason, this VM carries on.
            logger.DeployRefused(LogText.Escape(d.TypeName), LogText.Escape(e.Message));
            return new DeployReply(d.RequestId, e.Message);
        }
    }

    /// <summary>Why this VM's policy refuses code of these hashes shipped by another VM; null when it admits them.</summary>
    private string? PolicyRefusal(IEnumerable<string> hashes)
    {
        if (!_allowDeploy) return "this VM does not accept deploys from other VMs (river vm --no-deploy)";
        if (_allowedPrograms.Count == 0) return null;
        var refused = hashes.Where(h => !_allowedPrograms.Contains(h.ToUpperInvariant())).ToList();
        return refused.Count == 0 ? null
            : $"this VM admits only programs on its list (river vm --allow-program), and not {string.Join(", ", refused)}";
    }

    /// <summary>The code an assembly of this run was loaded from: its shipped entry, or its own file's name and hash.</summary>
    private static CodeRef? CodeOf(Assembly assembly, ProgramRun? run) =>
        run is not null && AssemblyLoadContext.GetLoadContext(assembly) == run
            ? run.Code.FirstOrDefault(c => c.Name == assembly.GetName().Name)
            : ProgramAssemblies.RefOf(assembly);

    /// <summary>
    /// The assemblies of the request's code list as this run has them: the default context's copy of
    /// those loaded here, and the run's shipped ones, loaded now (their bytes match their hashes).
    /// </summary>
    private static IEnumerable<Assembly> Loaded(CodeRef[] list, ProgramRun? run)
    {
        foreach (var c in list)
        {
            if (Here(c) is { } here) yield return here;
            else if (run is not null) yield return run.LoadFromAssemblyName(new AssemblyName(c.Name));
        }
    }

    /// <summary>True when this VM's own context already holds exactly this assembly (an embedded cluster, or a shared library).</summary>
    private static bool LoadedHere(CodeRef code) => Here(code) is not null;

    private static Assembly? Here(CodeRef code) =>
        AssemblyLoadContext.Default.Assemblies.FirstOrDefault(a => a.GetName().Name == code.Name && ProgramAssemblies.RefOf(a)?.Hash == code.Hash);

    public void OnReply(DeployReply reply)
    {
        if (_replies.TryRemove(reply.RequestId, out var waiting)) waiting.TrySetResult(reply);
    }

    /// <summary>Stores shipped code this VM's policy admits; other code is dropped unstored and logged.</summary>
    public void OnCodeUpload(CodeUpload upload)
    {
        if (PolicyRefusal([upload.Hash]) is { } refusal) logger.CodeRefused(upload.Hash, refusal);
        else code.Put(upload.Hash, upload.Bytes);
    }

    /// <summary>A VR of <paramref name="run"/> ended here: unload the run's shipped code with its last VR.</summary>
    public void Release(ProgramRun.Ref run)
    {
        if (run.Code is { } shipped && shipped.RemoveVr() && _runs.TryRemove(new KeyValuePair<Guid, ProgramRun>(shipped.Id, shipped)))
            shipped.Unload();
    }
}

using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace River.Hosting;

/// <summary>
/// River's VMs as a hosted service: started with the host, stopped with it. Code outside VRs (an endpoint,
/// a background service) reaches VRs through <see cref="Spawn{T}"/>, which runs its body as a VR.
/// </summary>
/// <example><code>
/// builder.Services.AddRiver(builder.Configuration.GetSection("River"));
/// app.MapGet("/sum", (RiverHost river) =&gt; river.Spawn(async me =&gt; { me.Send(adder, new { tag = "sum" }); return (await me.RecvAsync(new { tag = "sum" })).Get&lt;int&gt;("value"); }));
/// </code></example>
public sealed class RiverHost(IOptions<RiverHostOptions> options, ILoggerFactory loggers) : IHostedService, IAsyncDisposable
{
    private LocalCluster? _embedded;
    private RiverVm? _joined;

    /// <summary>The VM this process's own code runs on (the first, when embedded); available once the host started.</summary>
    public RiverVm Vm => _joined ?? _embedded?.Vms[0] ?? throw new InvalidOperationException("River has not started yet: the host starts it before it serves requests.");

    /// <summary>Every VM in this process.</summary>
    public IReadOnlyList<RiverVm> LocalVms => _embedded?.Vms ?? (_joined is { } vm ? [vm] : []);

    /// <summary>Runs <paramref name="body"/> as a VR on <see cref="Vm"/> (see <see cref="RiverVm.Spawn{T}"/>).</summary>
    public Task<T> Spawn<T>(Func<AsyncVirtualResource, Task<T>> body) => Vm.Spawn(body);

    /// <summary>Starts the VMs: embedded, or joining the cluster the options name (throws <see cref="ClusterJoinException"/> if it cannot).</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        void Configure(RiverVmOptions vm)
        {
            vm.LoggerFactory = loggers;
            foreach (var (k, v) in o.Attributes) vm.Attributes[k] = v;
        }
        if (o.Seeds.Count == 0)
        {
            _embedded = new LocalCluster(o.Vms, Configure);
            return;
        }
        var cluster = new ClusterOptions
        {
            Name = o.Cluster,
            Bind = IPAddress.Parse(o.Bind),
            Port = o.Port,
            Key = o.KeyFile is null ? null : ClusterOptions.ReadKeyFile(o.KeyFile),
            RequireSeeds = true,
        };
        foreach (var seed in o.Seeds) cluster.Seeds.Add(seed);
        var vmOptions = new RiverVmOptions();
        Configure(vmOptions);
        _joined = await RiverVm.JoinAsync(cluster, vmOptions);
    }

    /// <summary>Stops the VMs (their VRs end).</summary>
    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_embedded is { } embedded) await embedded.DisposeAsync();
        if (_joined is { } joined) await joined.DisposeAsync();
        _embedded = null;
        _joined = null;
    }
}

using Microsoft.Extensions.Logging;

namespace River;

/// <summary>The entry point of a River program: runs the initiating VR.</summary>
/// <example><code>return await RiverApp.RunAsync&lt;Pi&gt;(args);</code></example>
public static class RiverApp
{
    /// <summary>
    /// Runs <typeparamref name="TVr"/> as the initiator. With no cluster named it starts an embedded
    /// cluster of <c>--vms N</c> VMs (default: the core count) in this process; with
    /// <c>--seeds host:port,...</c> or <c>--discover</c> this process joins the running VMs of the cluster
    /// (<c>--cluster</c>, <c>--key-file</c>, <c>--bind</c>) as one more VM and the initiator runs there.
    /// River's options (also RIVER_VMS, RIVER_SEEDS, RIVER_DISCOVER, RIVER_CLUSTER, RIVER_KEY_FILE,
    /// RIVER_BIND, RIVER_TLS_CERT, RIVER_LOG_LEVEL, RIVER_CHECKPOINT_DIR; <c>--checkpoint-dir DIR</c> keeps coordinated checkpoints of the
    /// VRs that call <c>Checkpoint()</c> and recovers from a lost VM, <c>--restart DIR</c> starts from the last complete one; <c>--insecure</c> to listen beyond loopback without a key, <c>--grace-period S</c>, <c>--join-timeout S</c>) are taken out; the other arguments reach the initiator as <c>Args</c>.
    /// Returns 0 when the initiator returns, 1 when it fails, 2 for bad options (or nothing to restart from), 3 when no seed took it in.
    /// </summary>
    public static Task<int> RunAsync<TVr>(string[] args) where TVr : VirtualResourceBase => RunAsync<TVr>(args, []);

    /// <summary>
    /// Runs <typeparamref name="TVr"/> as the initiator like <see cref="RunAsync{TVr}(string[])"/>, with
    /// <paramref name="deployArgs"/> as its <c>DeployArgs</c>: how a programming model built on River
    /// (River.Mpi's <c>-n</c>) hands its own options to the initiator without leaving them in <c>Args</c>.
    /// </summary>
    public static async Task<int> RunAsync<TVr>(string[] args, params object?[] deployArgs) where TVr : VirtualResourceBase
    {
        RiverAppOptions options;
        RiverConnection connection;
        try
        {
            options = RiverAppOptions.Parse(args);
            connection = await ConnectAsync(options);
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"river: {e.Message}");
            return 2;
        }
        catch (ClusterJoinException e)
        {
            await Console.Error.WriteLineAsync($"river: {e.Message}");
            return 3;
        }
        await using (connection)
        {
            try
            {
                await RunInitiatorAsync<TVr>(connection.Vm, options, deployArgs);
                return 0;
            }
            catch (InvalidDataException e) when (options.Restart)
            {
                await Console.Error.WriteLineAsync($"river: {e.Message}");
                return 2;
            }
            catch (Exception e)
            {
                await Console.Error.WriteLineAsync($"river: the initiator {typeof(TVr).Name} failed: {e}");
                return 1;
            }
        }
    }

    // With --checkpoint-dir or --restart the initiator's VM is the run's home: it keeps the checkpoints and recovers.
    private static Task RunInitiatorAsync<TVr>(RiverVm home, RiverAppOptions options, object?[] deployArgs) where TVr : VirtualResourceBase =>
        options.CheckpointDir is { } dir
            ? CheckpointedRun.RunAsync(home, typeof(TVr), options.ProgramArgs, dir, options.Restart, deployArgs)
            : home.RunAsync<TVr>(options.ProgramArgs, deployArgs);

    /// <summary>
    /// Connects this process as <see cref="RunAsync{TVr}(string[])"/> does (the same options), but runs no
    /// initiator: for programs with no VR class of their own (scripting, notebooks), which start their VRs
    /// on <see cref="RiverConnection.Vm"/> (<see cref="RiverVm.Spawn{T}(Func{AsyncVirtualResource, Task{T}})"/>, <see cref="RiverVm.Start{TVr}(IReadOnlyList{string}?, object?[])"/>).
    /// </summary>
    /// <exception cref="ArgumentException">a bad option.</exception>
    /// <exception cref="ClusterJoinException">no seed took this VM in.</exception>
    public static Task<RiverConnection> ConnectAsync(string[] args) => ConnectAsync(RiverAppOptions.Parse(args));

    private static async Task<RiverConnection> ConnectAsync(RiverAppOptions options)
    {
        var logging = LoggerFactory.Create(b => b
            .SetMinimumLevel(options.LogLevel)
            .AddSimpleConsole(c => c.SingleLine = true)
            .AddConsole(c => c.LogToStandardErrorThreshold = LogLevel.Trace));
        try
        {
            if (options.Cluster is { } cluster)
            {
                var vm = await RiverVm.JoinAsync(cluster, new RiverVmOptions { LoggerFactory = logging });
                return new RiverConnection(vm, options.ProgramArgs, vm.DisposeAsync, logging);
            }
            var embedded = new LocalCluster(options.Vms, o => o.LoggerFactory = logging);
            return new RiverConnection(embedded.Vms[0], options.ProgramArgs, embedded.DisposeAsync, logging);
        }
        catch
        {
            logging.Dispose();
            throw;
        }
    }
}

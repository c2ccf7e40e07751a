using Microsoft.Extensions.Logging;

namespace River;

/// <summary>
/// Runs a program whose VRs checkpoint (<c>--checkpoint-dir</c>) or restarts one from its last complete
/// round (<c>--restart</c>): the initiator's VM is the run's home and coordinates.
/// </summary>
internal static class CheckpointedRun
{
    /// <summary>Runs <paramref name="type"/> as the initiator until it ends for good; rethrows its failure.</summary>
    public static async Task RunAsync(RiverVm home, Type type, IReadOnlyList<string> args, string directory, bool restart, object?[]? deployArgs = null)
    {
        var store = new DirectoryCheckpointStore(directory);
        if (!restart)
        {
            store.Delete(""); // a new run: rounds of an earlier one are no use to it
            var info = home.Checkpoints.BeginRun(Guid.NewGuid(), VrId.New(), store);
            home.StartInitiator(type, info.Initiator, info.Id, args, deployArgs ?? []);
            await FinishAsync(info);
            return;
        }
        var logger = home.LoggerFactory.CreateLogger("River.Checkpoint");
        var (manifest, parts, raw) = await CheckpointCoordinator.ReadRoundAsync(store, home.Serializer, CheckpointCoordinator.NewestRound(store), logger);
        if (manifest is null) throw new InvalidDataException($"--restart: {store.Location} holds no complete checkpoint round that reads back whole.");
        logger.Restarting(manifest.Round, store.Location, parts.Count);
        var run = home.Checkpoints.BeginRun(manifest.Run, manifest.Initiator, store, manifest.Round);
        run.Redeploys = manifest.Deploys.ToDictionary(d => (d.Parent, d.Call), d => d.Vrs);
        await run.Coordinator!.RestartFromDiskAsync(manifest, parts, raw, type, args);
        await FinishAsync(run);
    }

    private static async Task FinishAsync(CheckpointAgent.RunInfo run)
    {
        try
        {
            await run.Finished.Task;
        }
        finally
        {
            await run.Coordinator!.StopAsync();
        }
    }
}

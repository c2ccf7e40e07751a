using Microsoft.Extensions.Logging;

namespace River;

/// <summary>The checkpoint mechanism's log lines (event ids 100-119).</summary>
internal static partial class CheckpointLog
{
    /// <summary><paramref name="ms"/>: from the first of its parts taken (before the VR's fields are captured) to its manifest durable.</summary>
    [LoggerMessage(100, LogLevel.Information, "Checkpoint round {Round} complete in {Ms:0.0} ms: {Vrs} VRs, {Bytes} bytes in {Location}")]
    public static partial void RoundComplete(this ILogger logger, int round, double ms, int vrs, long bytes, string location);

    [LoggerMessage(101, LogLevel.Warning, "Checkpoint round {Round} cannot be used, falling back to the one before: {Reason}")]
    public static partial void RoundUnusable(this ILogger logger, int round, string reason);

    [LoggerMessage(102, LogLevel.Warning, "VM {VmId} is gone: rolling {Vrs} VRs back to checkpoint round {Round} ({Lost} lost with it)")]
    public static partial void Recovering(this ILogger logger, VmId vmId, int vrs, int round, int lost);

    [LoggerMessage(103, LogLevel.Warning, "Recovered from the loss of VM {VmId} in {Ms} ms: {Vrs} VRs restarted from round {Round}")]
    public static partial void Recovered(this ILogger logger, VmId vmId, long ms, int vrs, int round);

    [LoggerMessage(104, LogLevel.Error, "A checkpoint step ({Step}) failed")]
    public static partial void CheckpointStepFailed(this ILogger logger, string step, Exception error);

    [LoggerMessage(105, LogLevel.Warning, "Restarting from checkpoint round {Round} in {Location}: {Vrs} VRs")]
    public static partial void Restarting(this ILogger logger, int round, string location, int vrs);
}

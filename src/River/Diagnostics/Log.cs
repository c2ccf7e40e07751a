using Microsoft.Extensions.Logging;

namespace River;

/// <summary>The runtime's log lines, declared once (no allocation when a level is off).</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Error, "VR {VrId} ({VrType}) failed")]
    public static partial void VrFailed(this ILogger logger, VrId vrId, string vrType, Exception error);

    [LoggerMessage(2, LogLevel.Warning, "Undeliverable packet from {Src} to {Dest}: {Reason} ({Suppressed} more to {Dest} not logged since the last line)")]
    public static partial void Undeliverable(this ILogger logger, VrId src, VrId dest, string reason, int suppressed);

    [LoggerMessage(3, LogLevel.Information, "VM {VmId} joined ({Host}:{Port})")]
    public static partial void MemberJoined(this ILogger logger, VmId vmId, string host, int port);

    [LoggerMessage(4, LogLevel.Information, "VM {VmId} left: {Reason}")]
    public static partial void MemberLeft(this ILogger logger, VmId vmId, string reason);

    [LoggerMessage(5, LogLevel.Information, "Deployed {VrType} as {VrId} (parent {Parent})")]
    public static partial void Deployed(this ILogger logger, string vrType, VrId vrId, VrId? parent);

    [LoggerMessage(6, LogLevel.Warning, "Refused deploy of {VrType}: {Reason}")]
    public static partial void DeployRefused(this ILogger logger, string vrType, string reason);

    [LoggerMessage(7, LogLevel.Warning, "Dropped a frame from VM {VmId}: {Reason}")]
    public static partial void BadFrame(this ILogger logger, VmId vmId, string reason, Exception? error);

    [LoggerMessage(8, LogLevel.Warning, "Refused connection with {Remote}: {Reason} ({Suppressed} more from there not logged since the last line)")]
    public static partial void ConnectionRefused(this ILogger logger, string remote, string reason, int suppressed);

    [LoggerMessage(9, LogLevel.Debug, "Connection to VM {VmId} closed: {Reason}")]
    public static partial void ConnectionClosed(this ILogger logger, VmId vmId, string reason);

    [LoggerMessage(11, LogLevel.Warning, "Seed {Seed} unreachable: {Reason}")]
    public static partial void SeedUnreachable(this ILogger logger, string seed, string reason);

    [LoggerMessage(12, LogLevel.Information, "VM {VmId} listening on {EndPoint} in cluster '{Cluster}'")]
    public static partial void Listening(this ILogger logger, VmId vmId, string endPoint, string cluster);

    [LoggerMessage(13, LogLevel.Warning, "Multicast discovery is off: {Reason}")]
    public static partial void MulticastOff(this ILogger logger, string reason);

    [LoggerMessage(14, LogLevel.Warning, "No cluster key (--key-file): cluster '{Cluster}' admits anyone who knows its name")]
    public static partial void NoClusterKey(this ILogger logger, string cluster);

    [LoggerMessage(15, LogLevel.Warning, "Frames after the handshake carry no MAC (RIVER_BENCH_PLAIN_FRAMES, for benchmarks only)")]
    public static partial void PlainFrames(this ILogger logger);

    [LoggerMessage(16, LogLevel.Warning, "Closed the connection to VM {VmId}: {Reason}")]
    public static partial void FrameRejected(this ILogger logger, VmId vmId, string reason);

    [LoggerMessage(17, LogLevel.Warning, "Ignored {Count} multicast announcements from {Source} in the last interval: {Reason}")]
    public static partial void AnnouncementsIgnored(this ILogger logger, string source, int count, string reason);

    [LoggerMessage(18, LogLevel.Warning, "VM {VmId} suspected: {Reason}; it leaves Discover, its links and what waits in them stay for the grace period")]
    public static partial void MemberSuspected(this ILogger logger, VmId vmId, string reason);

    [LoggerMessage(19, LogLevel.Information, "VM {VmId} is heard again: nothing was lost")]
    public static partial void MemberBack(this ILogger logger, VmId vmId);

    [LoggerMessage(20, LogLevel.Warning, "{Count} packets from {Senders} VRs here were on their way to VM {VmId}, which is gone; each sender got a river.undeliverable packet")]
    public static partial void InFlightLost(this ILogger logger, VmId vmId, int count, int senders);

    [LoggerMessage(22, LogLevel.Error, "Unexpected error while {Activity}; the VM goes on")]
    public static partial void Unexpected(this ILogger logger, string activity, Exception error);

    [LoggerMessage(60, LogLevel.Warning, "Mirrored VR {VrId}: its primary on VM {Primary} is gone; this replica takes over (asking {Others} other replicas for what they hold)")]
    public static partial void MirrorTakingOver(this ILogger logger, VrId vrId, VmId primary, int others);

    [LoggerMessage(61, LogLevel.Warning, "Mirrored VR {VrId}: this replica is the primary now, at log entry {Entry}")]
    public static partial void MirrorTookOver(this ILogger logger, VrId vrId, long entry);

    [LoggerMessage(62, LogLevel.Information, "Mirrored VR {VrId}: its log passed {Limit} entries and is trimmed; a replica can no longer be added by replay")]
    public static partial void MirrorLogTrimmed(this ILogger logger, VrId vrId, int limit);

    [LoggerMessage(63, LogLevel.Error, "Mirrored VR {VrId}: a message could not be sent")]
    public static partial void MirrorFailed(this ILogger logger, VrId vrId, Exception error);

    [LoggerMessage(21, LogLevel.Error, "This VM was declared gone by the cluster ({By}); its {Vrs} VRs are ended, and it may take part again only as a new VM")]
    public static partial void Fenced(this ILogger logger, string by, int vrs);
}

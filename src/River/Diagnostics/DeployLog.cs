using Microsoft.Extensions.Logging;

namespace River;

/// <summary>Log lines of deployment policy (event ids from 40).</summary>
internal static partial class Log
{
    [LoggerMessage(40, LogLevel.Warning, "Refused shipped code {Hash}: {Reason}")]
    public static partial void CodeRefused(this ILogger logger, string hash, string reason);
}

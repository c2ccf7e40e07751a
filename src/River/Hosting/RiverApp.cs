using Microsoft.Extensions.Logging;

namespace River;

/// <summary>The entry point of a River program: runs the initiating VR.</summary>
/// <example><code>return await RiverApp.RunAsync&lt;Pi&gt;(args);</code></example>
public static class RiverApp
{
    /// <summary>
    /// Runs <typeparamref name="TVr"/> as the initiator. With no cluster named it starts an embedded
    /// cluster of <c>--vms N</c> VMs (default: the core count) in this process. River's own options
    /// (<c>--vms</c>, <c>--log-level</c>) are taken out; the other arguments reach the initiator as <c>Args</c>.
    /// Returns 0 when the initiator returns, 1 when it fails, 2 for bad options.
    /// </summary>
    public static async Task<int> RunAsync<TVr>(string[] args) where TVr : VirtualResourceBase
    {
        RiverAppOptions options;
        try
        {
            options = RiverAppOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"river: {e.Message}");
            return 2;
        }
        using var logging = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b
            .SetMinimumLevel(options.LogLevel)
            .AddSimpleConsole(c => c.SingleLine = true)
            .AddConsole(c => c.LogToStandardErrorThreshold = LogLevel.Trace));
        await using var cluster = new LocalCluster(options.Vms, o => o.LoggerFactory = logging);
        try
        {
            await cluster.RunAsync<TVr>(options.ProgramArgs);
            return 0;
        }
        catch (Exception e)
        {
            await Console.Error.WriteLineAsync($"river: the initiator {typeof(TVr).Name} failed: {e}");
            return 1;
        }
    }
}

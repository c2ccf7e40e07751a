using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace River;

/// <summary>How to build a <see cref="RiverVm"/>.</summary>
public sealed class RiverVmOptions
{
    /// <summary>The address peers reach this VM at (shown in <see cref="VmInfo.Host"/>).</summary>
    public string Host { get; set; } = "embedded";

    /// <summary>The port peers reach this VM at; 0 for a VM without a listener.</summary>
    public int Port { get; set; }

    /// <summary>Attributes this VM publishes from the start (<c>river vm --attr k=v</c>).</summary>
    public IDictionary<string, object?> Attributes { get; } = new Dictionary<string, object?>();

    /// <summary>Where the VM logs joins, leaves, deploys, failures and undeliverable packets.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>Where shipped assemblies are cached by hash; default: river-code in the temp folder.</summary>
    public string? CodeCacheDirectory { get; set; }

    /// <summary>How long <c>Deploy</c> waits for a remote VM to confirm a start.</summary>
    public TimeSpan DeployTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

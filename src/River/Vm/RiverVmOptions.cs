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

    /// <summary>
    /// Whether other VMs may deploy VRs here (default true). When false, every deploy request and shipped
    /// assembly from another VM is refused (the deployer's <c>Deploy</c> fails with the reason) and nothing
    /// shipped is stored; this VM's own programs still run here. Read when the VM is created.
    /// </summary>
    public bool AllowDeploy { get; set; } = true;

    /// <summary>
    /// SHA-256 hashes (hex, any case; <c>river hash App.dll</c> prints them) of the program assemblies other
    /// VMs may deploy here; empty admits any. A deploy is admitted only if every assembly it names that this
    /// VM does not already hold with the same hash is listed, and shipped code not listed is refused before
    /// it is stored or loaded. Read when the VM is created.
    /// </summary>
    public ISet<string> AllowedPrograms { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// How much each VR's queue may hold before senders wait (default <see cref="QueueLimit.Default"/>: 64 MiB or
    /// 100,000 packets); a VR may say otherwise with <see cref="VirtualResourceBase.QueueLimit"/>.
    /// </summary>
    public QueueLimit QueueLimit { get; set; } = QueueLimit.Default;

    /// <summary>The default of <see cref="SendTimeout"/>: 30 s.</summary>
    public static readonly TimeSpan DefaultSendTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a <c>Send</c> to a full queue waits before it throws <see cref="QueueFullException"/>
    /// (<see cref="Timeout.InfiniteTimeSpan"/>: for ever); a VR may say otherwise with <see cref="VirtualResourceBase.SendTimeout"/>.
    /// </summary>
    public TimeSpan SendTimeout { get; set; } = DefaultSendTimeout;
}

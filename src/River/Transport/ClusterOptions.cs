using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace River;

/// <summary>How a VM joins a cluster over the network: name, key, address, seeds, discovery and limits.</summary>
/// <example><code>
/// var options = new ClusterOptions { Name = "lab", Key = File.ReadAllBytes("lab.key"), Seeds = { "10.0.0.5:7700" } };
/// await using var vm = await RiverVm.JoinAsync(options);
/// </code></example>
public sealed class ClusterOptions
{
    /// <summary>The current protocol version; a peer speaking another is refused.</summary>
    public const int ProtocolVersion = 2;

    /// <summary>The cluster's name; VMs of other clusters are refused.</summary>
    public string Name { get; set; } = "river";

    /// <summary>The shared key both sides of a connection prove they hold (it never travels) and every frame is authenticated with.
    /// <c>null</c> derives a key from the name, which only keeps separate clusters apart: allowed on loopback, elsewhere only with <see cref="Insecure"/>.</summary>
    public byte[]? Key { get; set; }

    /// <summary>Allows listening on an address other than loopback without a <see cref="Key"/> (<c>--insecure</c>).</summary>
    public bool Insecure { get; set; }

    /// <summary>The address to listen on; loopback unless told otherwise.</summary>
    public IPAddress Bind { get; set; } = IPAddress.Loopback;

    /// <summary>The TCP port to listen on; 0 picks a free one.</summary>
    public int Port { get; set; }

    /// <summary>Addresses (<c>host:port</c>) of VMs to join; a host name may resolve to many addresses.</summary>
    public IList<string> Seeds { get; } = new List<string>();

    /// <summary>
    /// Fail the join (<see cref="ClusterJoinException"/>) when no seed takes this VM in, or, with multicast
    /// and no seeds, when no other VM is heard within <see cref="JoinTimeout"/>, instead of waiting alone for
    /// others; programs set it.
    /// </summary>
    public bool RequireSeeds { get; set; }

    /// <summary>
    /// How long a join tries its seeds (and, for a program, waits to hear of a VM) before it gives up, and then how long it
    /// waits at most for the VMs the seeds listed to be reached (default 10 s).
    /// </summary>
    public TimeSpan JoinTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Announce and listen for VMs by UDP multicast on the local network.</summary>
    public bool Multicast { get; set; } = true;

    /// <summary>The multicast group and port of announcements.</summary>
    public IPEndPoint MulticastGroup { get; set; } = new(IPAddress.Parse("239.255.77.77"), 47077);

    /// <summary>How often an idle connection sends a heartbeat.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// A VM heard nothing from for this long, when its link has been steady (heard every heartbeat interval), is
    /// suspected: it leaves <c>Discover</c>, but its links and what waits in them stay for the <see cref="GracePeriod"/>.
    /// A link whose gaps have been longer or scattered (a loaded host) is given more, up to <see cref="MaxFailureTimeout"/>
    /// (see the failure detector in docs/FAULT-TOLERANCE.md). Default 2 s.
    /// </summary>
    public TimeSpan FailureTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The longest silence tolerated of any VM, however irregular its link has been (and of a new link, which has no
    /// history yet): it bounds how long a pause or a cut of a VM goes unreported while this VM itself is not stalled.
    /// Never less than <see cref="FailureTimeout"/> (a smaller value counts as it). Default 2.7 s.
    /// </summary>
    public TimeSpan MaxFailureTimeout { get; set; } = TimeSpan.FromSeconds(2.7);

    /// <summary>
    /// A VM silent this long after it was suspected (see <see cref="FailureTimeout"/>) is gone for good: its links
    /// close, senders to its VRs are told, and should it return it is refused and must rejoin as a new VM.
    /// Within it, a pause or a cut loses nothing: links resume where they stopped. Default 30 s.
    /// </summary>
    public TimeSpan GracePeriod { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The largest frame a VM sends or accepts (default 64 MiB).</summary>
    public int MaxFrameSize { get; set; } = 64 << 20;

    /// <summary>Outbound bytes buffered per connection before senders wait (back-pressure).</summary>
    public int SendBufferLimit { get; set; } = 8 << 20;

    /// <summary>How long a connection may take to authenticate.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A PKCS#12 certificate file: when set, connections are wrapped in TLS.</summary>
    public string? TlsCertificate { get; set; }

    /// <summary>
    /// Frames after the handshake without a MAC, for the benchmark that measures what the MAC costs; both
    /// sides must say so (the handshake refuses a mismatch) and a warning is logged. Set in-process by the
    /// bench, or by RIVER_BENCH_PLAIN_FRAMES=1 in the environment of the bench's <c>river vm</c> processes.
    /// </summary>
    internal bool PlainFrames { get; set; } = Environment.GetEnvironmentVariable("RIVER_BENCH_PLAIN_FRAMES") == "1";

    /// <summary>Refuses settings that would open the VM to strangers or cannot work.</summary>
    internal void Validate()
    {
        if (Key is null && !IPAddress.IsLoopback(Bind) && !Insecure)
            throw new InvalidOperationException($"Listening on {Bind} without a cluster key would let anyone on the network run code here; give a key (--key-file) or, knowingly, --insecure.");
        if (MaxFrameSize is < 1024 or > 1 << 30)
            throw new ArgumentOutOfRangeException(nameof(MaxFrameSize), MaxFrameSize, "The maximum frame size must be between 1 KiB and 1 GiB.");
    }

    internal byte[] EffectiveKey => Key ?? SHA256.HashData(Encoding.UTF8.GetBytes("river-cluster:" + Name));

    /// <summary>Reads a key file: its bytes, surrounding whitespace trimmed.</summary>
    public static byte[] ReadKeyFile(string path)
    {
        var key = Encoding.UTF8.GetBytes(File.ReadAllText(path).Trim());
        return key.Length >= 16 ? key : throw new ArgumentException($"The key in {path} is {key.Length} bytes; use at least 16.");
    }
}

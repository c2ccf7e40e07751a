using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace River;

/// <summary>
/// Announces this VM on the local network by UDP multicast (TTL 1, on the bound interface only) and
/// dials VMs of the same cluster it hears. An announcement is signed (<see cref="Announcement"/>): one
/// that fails, is stale or replayed is ignored, so a stranger cannot make a VM dial anywhere. At most
/// <see cref="MaxPerSecond"/> are checked a second; what is ignored is counted and logged once an interval.
/// How often it announces itself, and when it answers a newcomer: <see cref="AnnounceSchedule"/>.
/// </summary>
internal sealed class MulticastDiscovery : IDisposable
{
    private readonly UdpClient _udp;
    private readonly Timer _timer;
    private readonly AnnounceSchedule _schedule;
    private readonly TcpTransport _transport;
    private readonly RiverVm _vm;
    private readonly ILogger _logger;
    private int _sendFailed;
    private readonly Announcement _signer;
    private readonly LogThrottle _ignoredLog = new(TimeSpan.FromSeconds(10));
    private long _window;
    private int _inWindow;

    /// <summary>Announcements checked per second at most; the rest are dropped unread.</summary>
    public const int MaxPerSecond = 200;

    private MulticastDiscovery(UdpClient udp, TcpTransport transport, RiverVm vm, ILogger logger)
    {
        _udp = udp;
        _transport = transport;
        _vm = vm;
        _logger = logger;
        _signer = new Announcement(transport.Options);
        _timer = new Timer(_ => Tick(), null, Timeout.Infinite, Timeout.Infinite);
        _schedule = new AnnounceSchedule(Environment.TickCount64, Arm);
        _schedule.Start();
        new Thread(ReceiveLoop) { IsBackground = true, Name = "River multicast" }.Start(); // its answers use the schedule
    }

    public static MulticastDiscovery? Start(TcpTransport transport, RiverVm vm, ILogger logger)
    {
        var options = transport.Options;
        try
        {
            var udp = new UdpClient(options.Bind.AddressFamily);
            udp.Client.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            udp.Client.Bind(new IPEndPoint(options.Bind.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, options.MulticastGroup.Port));
            udp.JoinMulticastGroup(options.MulticastGroup.Address, options.Bind);
            udp.Client.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, options.Bind.GetAddressBytes());
            udp.Client.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, 1);
            udp.MulticastLoopback = true;
            return new MulticastDiscovery(udp, transport, vm, logger);
        }
        catch (SocketException e)
        {
            logger.MulticastOff(e.Message);
            return null;
        }
    }

    private void Arm(long due)
    {
        try
        {
            _timer.Change(Math.Max(0, due - Environment.TickCount64), Timeout.Infinite);
        }
        catch (ObjectDisposedException)
        {
            // stopping
        }
    }

    private void Tick()
    {
        _schedule.Sending();
        Announce();
        _schedule.Sent(Environment.TickCount64);
    }

    private void Announce()
    {
        var info = _vm.Info;
        var bytes = _signer.Sign(info.Id, info.Host, info.Port);
        try
        {
            _udp.Send(bytes, bytes.Length, _transport.Options.MulticastGroup);
        }
        catch (SocketException e)
        {
            // No multicast route on this interface (loopback has none): seeds still work. Said once.
            if (Interlocked.Exchange(ref _sendFailed, 1) == 0) _logger.MulticastOff(e.Message);
        }
        catch (ObjectDisposedException)
        {
            // stopping
        }
    }

    private void ReceiveLoop()
    {
        var from = new IPEndPoint(IPAddress.Any, 0);
        while (true)
        {
            byte[] bytes;
            try
            {
                bytes = _udp.Receive(ref from);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
            if (!Admit())
            {
                Ignored(from, "more than 200 a second");
                continue;
            }
            switch (_signer.Verify(bytes))
            {
                case Announcement.Verified(var id, var host, var port):
                    if (_transport.DialAnnounced(new VmInfo(id, host, port, new Dictionary<string, object?>()))) _schedule.Answer(Environment.TickCount64);
                    break;
                case Announcement.Rejected(var reason):
                    Ignored(from, reason);
                    break;
            }
        }
    }

    /// <summary>A token bucket of <see cref="MaxPerSecond"/> a second, so a flood costs a fixed amount of checking.</summary>
    private bool Admit()
    {
        var second = Environment.TickCount64 / 1000;
        if (second != _window)
        {
            _window = second;
            _inWindow = 0;
        }
        return ++_inWindow <= MaxPerSecond;
    }

    private void Ignored(IPEndPoint from, string reason)
    {
        var source = from.Address.ToString();
        if (_ignoredLog.ShouldLog(source, out var suppressed)) _logger.AnnouncementsIgnored(source, suppressed + 1, reason);
    }

    public void Dispose()
    {
        _timer.Dispose();
        _udp.Dispose();
    }
}

using System.Net;
using System.Net.Sockets;
using MessagePack;
using Microsoft.Extensions.Logging;

namespace River;

/// <summary>
/// Announces this VM on the local network by UDP multicast (TTL 1, on the bound interface only) and
/// dials VMs of the same cluster it hears. Announcements carry no secret: joining still takes the key.
/// </summary>
internal sealed class MulticastDiscovery : IDisposable
{
    private readonly UdpClient _udp;
    private readonly Timer _timer;
    private readonly TcpTransport _transport;
    private readonly RiverVm _vm;
    private readonly ILogger _logger;
    private int _sendFailed;

    private MulticastDiscovery(UdpClient udp, TcpTransport transport, RiverVm vm, ILogger logger)
    {
        _udp = udp;
        _transport = transport;
        _vm = vm;
        _logger = logger;
        new Thread(ReceiveLoop) { IsBackground = true, Name = "River multicast" }.Start();
        _timer = new Timer(_ => Announce(), null, TimeSpan.Zero, TimeSpan.FromSeconds(1));
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

    private void Announce()
    {
        var info = _vm.Info;
        var bytes = MessagePackSerializer.Serialize(new object[] { "river-vm", _transport.Options.Name, info.Id.Value.ToString(), info.Host, info.Port });
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
            try
            {
                var bytes = _udp.Receive(ref from);
                var fields = MessagePackSerializer.Deserialize<object[]>(bytes);
                if (fields is ["river-vm", string cluster, string id, string host, var port] && cluster == _transport.Options.Name)
                    _transport.Dial(new VmInfo(VmId.Parse(id), host, Convert.ToInt32(port), new Dictionary<string, object?>()));
            }
            catch (Exception e) when (e is MessagePackSerializationException or FormatException or InvalidCastException or OverflowException)
            {
                // Somebody else's datagram on our group: ignore it.
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
        }
    }

    public void Dispose()
    {
        _timer.Dispose();
        _udp.Dispose();
    }
}

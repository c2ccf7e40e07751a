using System.Net;
using System.Net.Sockets;

namespace River.Tests.Cluster;

/// <summary>Loopback ports for servers a test names by port (a metrics endpoint, a collector, a seed nobody listens on).</summary>
public static class Loopback
{
    /// <summary>A TCP port free on 127.0.0.1 a moment ago (the OS picked it).</summary>
    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}

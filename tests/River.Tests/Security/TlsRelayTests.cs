using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using River.Tests.Cluster;
using Xunit.Abstractions;

namespace River.Tests.Security;

/// <summary>
/// With TLS, a relay could end TLS on each side with a certificate of its own and forward the plaintext.
/// The handshake's proofs cover the server certificate as each side saw it, so the dialer (which saw the
/// relay's) and the acceptor (which showed its own) derive different secrets: the proofs fail and no
/// link forms through the relay, while a VM that dials the acceptor directly joins.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class TlsRelayTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);
    private const string NoKey = "does not hold this cluster's key";

    private static X509Certificate2 SelfSigned(string name)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        // Through PKCS#12, so the private key is usable by SslStream as a server.
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }

    [Fact]
    public async Task A_relay_that_terminates_TLS_on_both_sides_fails_the_handshake_and_no_link_forms()
    {
        using var cluster = TestCluster.Create();
        var pfx = Path.Combine(cluster.Directory, "vm.pfx");
        using (var vmCert = SelfSigned("river-vm")) await File.WriteAllBytesAsync(pfx, vmCert.Export(X509ContentType.Pfx));
        using var relayCert = SelfSigned("relay");

        using var b = await VmProcess.StartAsync(cluster, null, "--tls-cert", pfx);
        var tlsEnded = 0;
        using var relay = new Relay(b.Port, async (fromDialer, toAcceptor) =>
        {
            var server = new SslStream(fromDialer, false);
            await server.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = relayCert });
            var client = new SslStream(toAcceptor, false, (_, _, _, _) => true);
            await client.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "river" });
            Interlocked.Increment(ref tlsEnded);
            return (server, client);
        });
        using var a = await VmProcess.StartAsync(cluster, null, "--tls-cert", pfx, "--seeds", relay.Address);

        await a.WaitForLogAsync(NoKey, Bound);
        await b.WaitForLogAsync(NoKey, Bound);
        Assert.True(Volatile.Read(ref tlsEnded) > 0, $"TLS never got through the relay: {string.Join("; ", relay.Errors)}");

        // A direct dial with the same certificate works: the relay, not TLS, is what fails.
        using var c = await VmProcess.StartAsync(cluster, [b], "--tls-cert", pfx);
        await b.WaitForLogAsync($"VM {c.Id} joined", Bound);

        // A keeps re-dialing its seed (the relay) about once a second; none of those may form a link either.
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.DoesNotContain(b.StderrLines, l => l.Contains($"VM {a.Id} joined", StringComparison.Ordinal));
        Assert.DoesNotContain(a.StderrLines, l => l.Contains($"VM {b.Id} joined", StringComparison.Ordinal));
        Assert.DoesNotContain(a.StderrLines, l => l.Contains($"VM {c.Id} joined", StringComparison.Ordinal));
        output.WriteLine($"TLS ended by the relay {tlsEnded} times; A's log:\n{string.Join('\n', a.StderrLines)}\nB's log:\n{string.Join('\n', b.StderrLines)}");
    }
}

using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace River;

/// <summary>
/// Wraps a connection in TLS (<c>--tls-cert</c>) and returns the channel's binding, which the handshake's
/// proofs cover: RFC 5929 tls-server-end-point, the SHA-256 of the server's certificate as each side sees
/// it. A relay that ends TLS on each side shows the dialer its own certificate, and the proofs fail.
/// (.NET offers no RFC 9266 tls-exporter yet.) Who may join is decided by the key, so any certificate is taken.
/// </summary>
internal static class TlsChannel
{
    public static X509Certificate2? Load(ClusterOptions options) =>
        options.TlsCertificate is { } path ? X509CertificateLoader.LoadPkcs12FromFile(path, null) : null;

    /// <summary>The stream to authenticate on and its binding: <paramref name="stream"/> itself and none without a certificate.</summary>
    public static (Stream Stream, byte[] Binding) Secure(Stream stream, bool outbound, X509Certificate2? certificate)
    {
        if (certificate is null) return (stream, []);
        var tls = new SslStream(stream, false, (_, _, _, _) => true);
        if (outbound) tls.AuthenticateAsClient(new SslClientAuthenticationOptions { TargetHost = "river" });
        else tls.AuthenticateAsServer(new SslServerAuthenticationOptions { ServerCertificate = certificate });
        var server = outbound ? tls.RemoteCertificate?.GetRawCertData() : certificate.RawData;
        return (tls, [.. "tls-server-end-point:"u8, .. SHA256.HashData(server ?? throw new HandshakeException("the TLS server showed no certificate"))]);
    }
}

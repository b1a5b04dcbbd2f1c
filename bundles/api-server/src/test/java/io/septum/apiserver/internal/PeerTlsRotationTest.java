package io.septum.apiserver.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContext;
import io.septum.apiserver.testing.FakeFlowObserver;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Certificate rotation without a restart, with real certificates from openssl: the files the configuration names
 * are replaced, and the next connection (served, or dialled by the relay) uses the new certificate; files that do
 * not load (garbage, a key that is not the certificate's) keep the old one in use, and say which file and why.
 */
class PeerTlsRotationTest {
    private static final long CHECK_MILLIS = 2_000;

    @TempDir
    Path dir;

    private PeerCertificates certs;
    private PeerTls live;
    /** The reloader's clock: the test decides when a check is due. */
    private final AtomicLong nanos = new AtomicLong(1_000);

    @BeforeEach
    void certificates() throws Exception {
        certs = new PeerCertificates(dir);
        certs.ca("ca");
        Path d = Files.createDirectories(dir.resolve("live"));
        PeerTls made = certs.node("ca", "node-a");
        live = new PeerTls(copy(made.ca(), d.resolve("ca.pem")), copy(made.cert(), d.resolve("node-a.pem")),
                copy(made.key(), d.resolve("node-a-key.pem")));
    }

    @Test
    void aNewConnectionIsServedWithTheRotatedCertificateAndFilesThatDoNotLoadKeepTheOld() throws Exception {
        BigInteger first = serial(live.cert());
        PeerTlsFiles files = new PeerTlsFiles(live, CHECK_MILLIS, nanos::get);
        PeerTls client = certs.node("ca", "node-b");
        PeerFlowServer server = new PeerFlowServer(new InetSocketAddress("127.0.0.1", 0), files::server,
                FakeFlowObserver::new, new ObjectMapper(), new PeerFlowServer.Settings(4, 5_000, 200));
        int port = server.start().get(10, TimeUnit.SECONDS).getPort();
        try {
            assertEquals(first, served(port, client));

            PeerTls second = certs.node("ca", "node-a");
            rotate(second, true, true);
            BigInteger rotated = serial(live.cert());
            assertTrue(!rotated.equals(first));
            assertEquals(first, served(port, client), "the files are looked at no more often than every " + CHECK_MILLIS + " ms");
            nanos.addAndGet(TimeUnit.MILLISECONDS.toNanos(CHECK_MILLIS));
            assertEquals(rotated, served(port, client), "the next connection after the check has the new certificate");
            assertNull(files.problem());

            // a certificate file that is no certificate: the one in use stays, and the file is named with its key
            Files.writeString(live.cert(), "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
            nanos.addAndGet(TimeUnit.MILLISECONDS.toNanos(CHECK_MILLIS));
            assertEquals(rotated, served(port, client));
            String problem = files.problem();
            assertTrue(problem != null && problem.startsWith("peerCertFile " + live.cert() + " is not a PEM certificate"), problem);

            // half a rotation: the new certificate is there, its key not yet; the old pair serves on
            PeerTls third = certs.node("ca", "node-a");
            rotate(third, true, false);
            nanos.addAndGet(TimeUnit.MILLISECONDS.toNanos(CHECK_MILLIS));
            assertEquals(rotated, served(port, client));
            problem = files.problem();
            assertTrue(problem != null && problem.equals("peerKeyFile " + live.key() + " is not the key of the certificate"
                    + " in peerCertFile " + live.cert() + " (serial " + serial(live.cert()).toString(16) + ")"), problem);

            // the key follows: the pair loads
            rotate(third, false, true);
            nanos.addAndGet(TimeUnit.MILLISECONDS.toNanos(CHECK_MILLIS));
            assertEquals(serial(live.cert()), served(port, client));
            assertNull(files.problem());
        } finally {
            server.close();
        }
    }

    @Test
    void theRelayDialsWithTheRotatedCertificate() throws Exception {
        PeerTlsFiles files = new PeerTlsFiles(live, CHECK_MILLIS, nanos::get);
        PeerTls server = certs.node("ca", "node-b");
        BigInteger first = serial(live.cert());
        assertEquals(first, presented(files.client(), server));
        rotate(certs.node("ca", "node-a"), true, true);
        nanos.addAndGet(TimeUnit.MILLISECONDS.toNanos(CHECK_MILLIS));
        assertEquals(serial(live.cert()), presented(files.client(), server));
    }

    @Test
    void filesThatDoNotLoadAtStartAreNamedWithTheReason() throws Exception {
        Files.writeString(live.key(), "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new PeerTlsFiles(live, CHECK_MILLIS, nanos::get));
        assertEquals("peerKeyFile " + live.key() + " holds no PKCS#8 key (BEGIN PRIVATE KEY); convert another format"
                + " with openssl pkcs8 -topk8 -nocrypt", e.getMessage());
    }

    /** Copies a freshly made certificate and/or key over the files in use, as an operator's rotation does. */
    private void rotate(PeerTls from, boolean cert, boolean key) throws Exception {
        if (cert) copy(from.cert(), live.cert());
        if (key) copy(from.key(), live.key());
    }

    private static Path copy(Path from, Path to) throws Exception {
        return Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
    }

    private static BigInteger serial(Path pem) throws Exception {
        return ((X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(Files.readAllBytes(pem)))).getSerialNumber();
    }

    /** The serial number of the certificate the server at {@code port} presents to a new connection. */
    private static BigInteger served(int port, PeerTls client) throws Exception {
        SslContext ctx = client.client();
        try (SSLSocket s = (SSLSocket) ((JdkSslContext) ctx).context().getSocketFactory().createSocket("127.0.0.1", port)) {
            s.setSoTimeout(5_000);
            s.startHandshake();
            return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSerialNumber();
        }
    }

    /** The serial number of the certificate a client with {@code ctx} presents to a server that requires one. */
    private static BigInteger presented(SslContext ctx, PeerTls server) throws Exception {
        try (SSLServerSocket ss = (SSLServerSocket) ((JdkSslContext) server.server()).context().getServerSocketFactory()
                .createServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            ss.setNeedClientAuth(true);
            CompletableFuture<BigInteger> seen = CompletableFuture.supplyAsync(() -> {
                try (SSLSocket s = (SSLSocket) ss.accept()) {
                    s.setSoTimeout(5_000);
                    s.startHandshake();
                    return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSerialNumber();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            try (SSLSocket c = (SSLSocket) ((JdkSslContext) ctx).context().getSocketFactory()
                    .createSocket("127.0.0.1", ss.getLocalPort())) {
                c.setSoTimeout(5_000);
                c.startHandshake();
                // TLS 1.3: the client's certificate reaches the server with the client's last handshake message
                c.getOutputStream().write(1);
                c.getOutputStream().flush();
                return seen.get(10, TimeUnit.SECONDS);
            }
        }
    }
}

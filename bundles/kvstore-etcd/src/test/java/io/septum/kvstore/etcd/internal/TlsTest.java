package io.septum.kvstore.etcd.internal;

import io.septum.testsupport.TestFiles;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** etcd with TLS and client certificates, as in production: the SSLContext built from PEM files gets in. */
class TlsTest {
    private static Path certs;
    private static TestEtcd etcd;

    @BeforeAll
    static void start() throws Exception {
        certs = Files.createTempDirectory("septum-test-etcd-tls");
        if (TestEtcd.binary() != null) TestEtcd.makeCertificates(certs);
        etcd = TestEtcd.start(certs);
    }

    @AfterAll
    static void stop() throws IOException {
        if (etcd != null) etcd.close();
        TestFiles.deleteTree(certs);
    }

    @Test
    void mutualTlsFromPemFiles() throws Exception {
        EtcdClient c = new EtcdClient(new EtcdClient.Options(List.of(etcd.endpoint),
                Tls.context(certs.resolve("ca.pem"), certs.resolve("client.pem"), certs.resolve("client-key.pem")),
                false, null));
        assertTrue(c.putIfAbsent("tls/key", "v", 0));
        assertEquals("v", c.get("tls/key").first().value());
    }

    @Test
    void withoutAClientCertificateEtcdRefuses() throws Exception {
        EtcdClient noCert = new EtcdClient(new EtcdClient.Options(List.of(etcd.endpoint),
                Tls.context(certs.resolve("ca.pem"), null, null), false, Duration.ofSeconds(3)));
        assertThrows(IOException.class, () -> noCert.get("tls/key"));
        // The JVM's default trust store does not know the test CA.
        EtcdClient untrusted = new EtcdClient(new EtcdClient.Options(List.of(etcd.endpoint), null, false, Duration.ofSeconds(3)));
        assertThrows(IOException.class, () -> untrusted.get("tls/key"));
    }

    @Test
    void aNonPkcs8KeyGetsAClearError() throws Exception {
        Path bad = certs.resolve("bad-key.pem");
        Files.writeString(bad, "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n");
        var e = assertThrows(IllegalArgumentException.class,
                () -> Tls.context(certs.resolve("ca.pem"), certs.resolve("client.pem"), bad));
        assertTrue(e.getMessage().contains("openssl pkcs8"), e.getMessage());
    }

    /**
     * Rotation of the client certificate while the client runs: the files are looked at no more often than the check
     * interval, a pair that does not match is not taken (the one in use goes on), and the new pair is really what
     * new connections present: a certificate from a CA etcd does not trust is refused, one from its CA gets in.
     */
    @Test
    void aRotatedClientCertificateIsUsedFromTheNextConnection() throws Exception {
        Path live = Files.createTempDirectory(certs, "live");
        Path other = Files.createTempDirectory(certs, "other-ca");
        TestEtcd.makeCertificates(other);
        Files.copy(certs.resolve("client.pem"), live.resolve("client.pem"));
        Files.copy(certs.resolve("client-key.pem"), live.resolve("client-key.pem"));
        AtomicLong nanos = new AtomicLong();
        var files = Tls.follow(certs.resolve("ca.pem"), live.resolve("client.pem"), live.resolve("client-key.pem"),
                1_000, nanos::get);
        EtcdClient c = new EtcdClient(new EtcdClient.Options(List.of(etcd.endpoint), files::current, false,
                Duration.ofSeconds(3), null));
        c.put("tls/rot", "1", 0);

        // a client certificate from a CA that etcd does not trust: not looked at before the interval, refused after
        Files.copy(other.resolve("client.pem"), live.resolve("client.pem"), StandardCopyOption.REPLACE_EXISTING);
        Files.copy(other.resolve("client-key.pem"), live.resolve("client-key.pem"), StandardCopyOption.REPLACE_EXISTING);
        assertEquals("1", c.get("tls/rot").first().value(), "the files are not looked at before the interval");
        nanos.addAndGet(TimeUnit.MILLISECONDS.toNanos(1_000));
        assertThrows(IOException.class, () -> c.get("tls/rot"), "the new certificate is the one presented");
        assertNull(files.problem());

        // half a rotation: a certificate of etcd's CA with the old (other CA's) key: not taken, the last pair stays
        Files.copy(certs.resolve("client.pem"), live.resolve("client.pem"), StandardCopyOption.REPLACE_EXISTING);
        nanos.addAndGet(TimeUnit.MILLISECONDS.toNanos(1_000));
        assertThrows(IOException.class, () -> c.get("tls/rot"));
        assertTrue(files.problem() != null && files.problem().startsWith("keyFile " + live.resolve("client-key.pem")
                + " is not the key of the certificate in certFile"), files.problem());

        // the key follows: the pair of etcd's CA loads and gets in
        Files.copy(certs.resolve("client-key.pem"), live.resolve("client-key.pem"), StandardCopyOption.REPLACE_EXISTING);
        nanos.addAndGet(TimeUnit.MILLISECONDS.toNanos(1_000));
        assertEquals("1", c.get("tls/rot").first().value());
        assertNull(files.problem());
        assertTrue(files.describe().contains("CN=septum-test-client"), files.describe());
    }
}

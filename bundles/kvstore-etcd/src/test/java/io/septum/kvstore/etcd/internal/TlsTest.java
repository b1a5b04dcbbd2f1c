package io.septum.kvstore.etcd.internal;

import io.septum.testsupport.TestFiles;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
        var e = assertThrows(java.security.GeneralSecurityException.class,
                () -> Tls.context(certs.resolve("ca.pem"), certs.resolve("client.pem"), bad));
        assertTrue(e.getMessage().contains("openssl pkcs8"), e.getMessage());
    }
}

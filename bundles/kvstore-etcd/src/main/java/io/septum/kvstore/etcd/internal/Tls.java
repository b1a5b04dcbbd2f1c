package io.septum.kvstore.etcd.internal;

import io.septum.support.tls.FollowedTlsFiles;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.function.LongSupplier;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * The etcd client's TLS from PEM files as etcd's own tooling writes them (a CA bundle, a client certificate and its
 * PKCS#8 key), followed so that a rotated client certificate or CA is used from the next connection on without a
 * restart ({@link FollowedTlsFiles}: files that do not check out leave the ones in use in use, and are named).
 */
final class Tls {
    /** How often the files are looked at, at most. */
    static final long CHECK_MILLIS = 2_000;

    private Tls() {
    }

    /**
     * {@code caFile} (trust; null: the JVM's default trust store) and an optional client {@code certFile} with
     * {@code keyFile} (PKCS#8, {@code BEGIN PRIVATE KEY}; convert others with {@code openssl pkcs8 -topk8 -nocrypt}).
     *
     * @throws IllegalArgumentException naming the configuration key, the file and what is wrong
     */
    static FollowedTlsFiles<SSLContext> follow(Path caFile, Path certFile, Path keyFile, long checkEveryMillis,
                                               LongSupplier nanoClock) {
        return new FollowedTlsFiles<>("etcd client TLS", new FollowedTlsFiles.Paths("caFile", caFile, "certFile",
                certFile, "keyFile", keyFile), Tls::sslContext, checkEveryMillis, nanoClock);
    }

    /** A context from the files as they are now, not followed. */
    static SSLContext context(Path caFile, Path certFile, Path keyFile) {
        return follow(caFile, certFile, keyFile, 0, System::nanoTime).current();
    }

    private static SSLContext sslContext(FollowedTlsFiles.Material m) {
        try {
            TrustManagerFactory tmf = null;
            if (!m.ca().isEmpty()) {
                KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
                trust.load(null, null);
                int i = 0;
                for (Certificate c : m.ca()) trust.setCertificateEntry("ca" + i++, c);
                tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(trust);
            }
            KeyManagerFactory kmf = null;
            if (m.key() != null) {
                KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
                ks.load(null, null);
                char[] pw = new char[0];
                ks.setKeyEntry("client", m.key(), pw, m.chain().toArray(new Certificate[0]));
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(ks, pw);
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf == null ? null : tmf.getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new IllegalArgumentException("cannot build the etcd client's TLS context: " + e.getMessage(), e);
        }
    }
}

package io.septum.kvstore.etcd.internal;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collection;

/** An {@link SSLContext} from PEM files as etcd's own tooling writes them: a CA bundle, a client certificate and key. */
final class Tls {
    private Tls() {
    }

    /**
     * {@code caFile} (trust; null = the JVM's default trust store) and an optional client {@code certFile}+{@code keyFile}
     * (PKCS#8, {@code BEGIN PRIVATE KEY}; convert others with {@code openssl pkcs8 -topk8 -nocrypt}).
     */
    static SSLContext context(Path caFile, Path certFile, Path keyFile) throws IOException, GeneralSecurityException {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        TrustManagerFactory tmf = null;
        if (caFile != null) {
            KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
            trust.load(null, null);
            int i = 0;
            for (Certificate c : certificates(cf, caFile)) trust.setCertificateEntry("ca" + i++, c);
            if (i == 0) throw new GeneralSecurityException("no certificate in caFile " + caFile);
            tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
        }
        KeyManagerFactory kmf = null;
        if ((certFile == null) != (keyFile == null)) {
            throw new GeneralSecurityException("certFile and keyFile go together (got only one of them)");
        }
        if (certFile != null) {
            Certificate[] chain = certificates(cf, certFile).toArray(new Certificate[0]);
            if (chain.length == 0) throw new GeneralSecurityException("no certificate in certFile " + certFile);
            PrivateKey key = privateKey(keyFile);
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            char[] pw = new char[0];
            ks.setKeyEntry("client", key, pw, chain);
            kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, pw);
        }
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf == null ? null : tmf.getTrustManagers(), null);
        return ctx;
    }

    private static Collection<? extends Certificate> certificates(CertificateFactory cf, Path file)
            throws IOException, GeneralSecurityException {
        try (InputStream in = Files.newInputStream(file)) {
            return cf.generateCertificates(in);
        }
    }

    private static PrivateKey privateKey(Path file) throws IOException, GeneralSecurityException {
        String pem = Files.readString(file);
        if (!pem.contains("-----BEGIN PRIVATE KEY-----")) {
            throw new GeneralSecurityException("keyFile " + file + " is not a PKCS#8 PEM key (BEGIN PRIVATE KEY);"
                    + " convert it with: openssl pkcs8 -topk8 -nocrypt -in " + file + " -out key.pk8.pem");
        }
        String body = pem.substring(pem.indexOf("-----BEGIN PRIVATE KEY-----") + 27, pem.indexOf("-----END PRIVATE KEY-----"));
        byte[] der = Base64.getMimeDecoder().decode(body);
        GeneralSecurityException last = null;
        for (String alg : new String[] {"RSA", "EC", "Ed25519"}) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                last = e;
            }
        }
        throw new GeneralSecurityException("keyFile " + file + ": not an RSA, EC or Ed25519 key", last);
    }
}

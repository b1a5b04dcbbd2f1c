package io.septum.apiserver.internal;

import io.netty.handler.ssl.SslContext;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.function.LongSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The peer flow service's TLS files, followed: certificates are rotated without an agent restart. Each new
 * connection (served or dialled) asks for the current context; at most every {@code checkEveryMillis} that looks at
 * the three files (modification time, size and file identity, so that a file renamed over the old one counts), and
 * when one changed, loads them all again. Connections already open keep the context they started with.
 *
 * <p>New files are checked before they are used: every certificate parses, this node's certificate is within its
 * validity period, the key is PKCS#8 and is the key of that certificate. When they are not (a half-written rotation,
 * a key that does not match its certificate yet, an expired certificate), the files in use stay in use and the
 * problem is logged once, naming the file and why, and shown in the status line until files that load are in
 * place. A rotation that writes the certificate and the key one after the other is therefore taken when both are
 * there.
 */
final class PeerTlsFiles {
    private static final System.Logger LOG = System.getLogger(PeerTlsFiles.class.getName());
    private static final Pattern PKCS8 = Pattern.compile(
            "-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");

    /** What was loaded: the contexts, the files' stamps they came from, and what the status line says of them. */
    private record Loaded(SslContext server, SslContext client, List<Object> stamp, String describe) {
    }

    private final PeerTls files;
    private final long checkEveryNanos;
    private final LongSupplier nanoClock;
    private volatile Loaded current;
    /** The stamps last tried (loaded or refused): the same files are not tried, nor logged, twice. */
    private List<Object> tried;
    private long nextCheck;
    private volatile String problem;

    /**
     * Loads the files once.
     *
     * @throws IllegalArgumentException naming the key, the file and what is wrong with it
     */
    PeerTlsFiles(PeerTls files, long checkEveryMillis, LongSupplier nanoClock) {
        this.files = files;
        this.checkEveryNanos = Math.max(0, checkEveryMillis) * 1_000_000L;
        this.nanoClock = nanoClock;
        List<Object> stamp = stamp();
        current = load(stamp);
        tried = stamp;
        nextCheck = nanoClock.getAsLong() + checkEveryNanos;
    }

    /** The server's context for a new connection (other relays dial this node). */
    SslContext server() {
        check();
        return current.server();
    }

    /** The client's context for a new connection (this relay dials another node). */
    SslContext client() {
        check();
        return current.client();
    }

    /** Why the files on disk are not the ones in use, or null when they are. */
    String problem() {
        return problem;
    }

    /** The certificate in use: its serial number and end of validity. */
    String describe() {
        return current.describe();
    }

    /** Loads the files again if one changed since the last look, and that look is old enough. */
    synchronized void check() {
        long now = nanoClock.getAsLong();
        if (now - nextCheck < 0) return;
        nextCheck = now + checkEveryNanos;
        List<Object> stamp;
        try {
            stamp = stamp();
        } catch (IllegalArgumentException e) {
            refuse(null, e.getMessage());
            return;
        }
        if (stamp.equals(tried)) return;
        tried = stamp;
        if (stamp.equals(current.stamp())) {
            problem = null; // put back as they were
            return;
        }
        try {
            Loaded l = load(stamp);
            current = l;
            problem = null;
            LOG.log(System.Logger.Level.INFO, "peer TLS reloaded: " + l.describe() + " from peerCertFile " + files.cert()
                    + ", peerKeyFile " + files.key() + ", peerCaFile " + files.ca() + "; new connections use it");
        } catch (IllegalArgumentException e) {
            refuse(stamp, e.getMessage());
        }
    }

    private void refuse(List<Object> stamp, String why) {
        if (why.equals(problem)) return;
        problem = why;
        tried = stamp;
        LOG.log(System.Logger.Level.WARNING, "peer TLS not reloaded, still using " + current.describe() + ": " + why);
    }

    /** Each file's modification time, size and identity; a missing or unreadable one is an error naming it. */
    private List<Object> stamp() {
        List<Object> s = new ArrayList<>();
        stamp(s, "peerCaFile", files.ca());
        stamp(s, "peerCertFile", files.cert());
        stamp(s, "peerKeyFile", files.key());
        return s;
    }

    private static void stamp(List<Object> s, String key, Path p) {
        try {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
            s.add(a.lastModifiedTime());
            s.add(a.size());
            s.add(Objects.requireNonNullElse(a.fileKey(), p));
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(key + " " + p + " does not exist");
        } catch (IOException e) {
            throw new IllegalArgumentException(key + " " + p + " cannot be read: " + e.getMessage());
        }
    }

    /** Checks the files, then builds both contexts from them. */
    private Loaded load(List<Object> stamp) {
        List<X509Certificate> ca = certificates("peerCaFile", files.ca());
        X509Certificate cert = certificates("peerCertFile", files.cert()).get(0);
        try {
            cert.checkValidity();
        } catch (CertificateExpiredException e) {
            throw new IllegalArgumentException("peerCertFile " + files.cert() + ": the certificate expired on "
                    + cert.getNotAfter().toInstant());
        } catch (CertificateNotYetValidException e) {
            throw new IllegalArgumentException("peerCertFile " + files.cert() + ": the certificate is not valid before "
                    + cert.getNotBefore().toInstant());
        }
        checkKey(cert);
        SslContext server = files.server();
        SslContext client = files.client();
        String describe = "certificate " + cert.getSubjectX500Principal().getName() + " serial "
                + cert.getSerialNumber().toString(16) + " (valid until " + cert.getNotAfter().toInstant() + "), "
                + ca.size() + " CA certificate(s)";
        return new Loaded(server, client, stamp, describe);
    }

    private static List<X509Certificate> certificates(String key, Path p) {
        byte[] bytes = read(key, p);
        Collection<? extends Certificate> certs;
        try {
            certs = CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(bytes));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException(key + " " + p + " is not a PEM certificate: " + PeerClient.reason(e));
        }
        if (certs.isEmpty()) throw new IllegalArgumentException(key + " " + p + " holds no certificate");
        List<X509Certificate> out = new ArrayList<>();
        for (Certificate c : certs) out.add((X509Certificate) c);
        return out;
    }

    /** The key file is PKCS#8 and holds the private key of {@code cert}. */
    private void checkKey(X509Certificate cert) {
        String text = new String(read("peerKeyFile", files.key()), StandardCharsets.US_ASCII);
        Matcher m = PKCS8.matcher(text);
        if (!m.find()) {
            throw new IllegalArgumentException("peerKeyFile " + files.key() + " holds no PKCS#8 key (BEGIN PRIVATE KEY);"
                    + " convert another format with openssl pkcs8 -topk8 -nocrypt");
        }
        String algorithm = cert.getPublicKey().getAlgorithm();
        PrivateKey key;
        try {
            byte[] der = Base64.getMimeDecoder().decode(m.group(1));
            key = KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
        } catch (IllegalArgumentException | GeneralSecurityException e) {
            throw new IllegalArgumentException("peerKeyFile " + files.key() + " is not a " + algorithm + " key as the"
                    + " certificate in peerCertFile " + files.cert() + " needs: " + PeerClient.reason(e));
        }
        String sig = switch (algorithm) {
            case "EC" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            default -> algorithm; // EdDSA, Ed25519, Ed448: the algorithm is the signature
        };
        try {
            byte[] probe = new byte[32];
            new SecureRandom().nextBytes(probe);
            Signature s = Signature.getInstance(sig);
            s.initSign(key);
            s.update(probe);
            byte[] signed = s.sign();
            s.initVerify(cert.getPublicKey());
            s.update(probe);
            if (!s.verify(signed)) {
                throw new IllegalArgumentException("peerKeyFile " + files.key() + " is not the key of the certificate in"
                        + " peerCertFile " + files.cert() + " (serial " + cert.getSerialNumber().toString(16) + ")");
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("peerKeyFile " + files.key() + " cannot sign for the certificate in"
                    + " peerCertFile " + files.cert() + ": " + PeerClient.reason(e));
        }
    }

    private static byte[] read(String key, Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(key + " " + p + " does not exist");
        } catch (IOException e) {
            throw new IllegalArgumentException(key + " " + p + " cannot be read: " + e.getMessage());
        }
    }
}

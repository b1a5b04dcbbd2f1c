package io.septum.support.tls;

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
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * TLS files followed while they are in use, so that certificates rotate without a restart: each new connection asks
 * for {@link #current()}; at most every {@code checkEveryMillis} that looks at the files (modification time, size and
 * file identity, so that a file renamed over the old one counts), and when one changed, loads them all again.
 * Connections already open keep the context they started with.
 *
 * <p>Files are checked before they are used: every certificate parses, the own certificate is within its validity
 * period, the key is PKCS#8 and is the key of that certificate. When new files are not right (a half-written
 * rotation, a key that does not match its certificate yet, an expired certificate), the files in use stay in use and
 * the problem is logged once, naming the file and why, and kept in {@link #problem()} until files that load are in
 * place. A rotation that writes the certificate and the key one after the other is therefore taken when both are
 * there.
 *
 * @param <C> what is built from checked files: a JSSE {@code SSLContext}, Netty contexts, ...
 */
public final class FollowedTlsFiles<C> {
    private static final Pattern PKCS8 = Pattern.compile(
            "-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");

    /**
     * The files and the configuration keys that name them in messages ({@code caFile}, {@code peerCertFile}, ...).
     * The CA file, or the certificate and key together, may be absent (null) where the user of the files allows it.
     */
    public record Paths(String caKey, Path ca, String certKey, Path cert, String keyKey, Path key) {
        public Paths {
            if ((cert == null) != (key == null)) {
                throw new IllegalArgumentException(certKey + " and " + keyKey + " go together (got only "
                        + (cert == null ? keyKey : certKey) + ")");
            }
        }
    }

    /** Checked material: the CA certificates (empty without a CA file), the own chain and key (null without them). */
    public record Material(List<X509Certificate> ca, List<X509Certificate> chain, PrivateKey key) {
        /** The own certificate, or null. */
        public X509Certificate certificate() {
            return chain == null || chain.isEmpty() ? null : chain.get(0);
        }
    }

    private record Loaded<C>(C built, List<Object> stamp, String describe) {
    }

    /** Files that are right but not valid yet (a rotation staged ahead, or clock skew): tried again at each look. */
    private static final class NotYetValid extends IllegalArgumentException {
        NotYetValid(String message) {
            super(message);
        }
    }

    private final System.Logger log;
    private final String what;
    private final Paths files;
    private final Function<Material, C> build;
    private final long checkEveryNanos;
    private final LongSupplier nanoClock;
    private volatile Loaded<C> current;
    /** The stamps last tried (loaded or refused): the same files are not tried, nor logged, twice. */
    private List<Object> tried;
    private long nextCheck;
    private volatile String problem;

    /**
     * Loads the files once.
     *
     * @param what  what they are for, in log lines ({@code "peer TLS"}, {@code "etcd client TLS"})
     * @param build makes the context from checked material; an {@link IllegalArgumentException} refuses the files
     * @throws IllegalArgumentException naming the key, the file and what is wrong with it
     */
    public FollowedTlsFiles(String what, Paths files, Function<Material, C> build, long checkEveryMillis,
                            LongSupplier nanoClock) {
        this.log = System.getLogger(FollowedTlsFiles.class.getName());
        this.what = what;
        this.files = files;
        this.build = build;
        this.checkEveryNanos = Math.max(0, checkEveryMillis) * 1_000_000L;
        this.nanoClock = nanoClock;
        List<Object> stamp = stamp();
        current = load(stamp);
        tried = stamp;
        nextCheck = nanoClock.getAsLong() + checkEveryNanos;
    }

    /** The context for a new connection, after a look at the files if the last one is old enough. */
    public C current() {
        check();
        return current.built();
    }

    /** Why the files on disk are not the ones in use, or null when they are. */
    public String problem() {
        return problem;
    }

    /** The certificate in use: subject, serial number and end of validity, and the number of CA certificates. */
    public String describe() {
        return current.describe();
    }

    /** Loads the files again if one changed since the last look, and that look is old enough. */
    public synchronized void check() {
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
            Loaded<C> l = load(stamp);
            current = l;
            problem = null;
            log.log(System.Logger.Level.INFO, what + " reloaded: " + l.describe() + " from " + files.certKey() + " "
                    + files.cert() + ", " + files.keyKey() + " " + files.key() + ", " + files.caKey() + " " + files.ca()
                    + "; new connections use it");
        } catch (NotYetValid e) {
            refuse(null, e.getMessage()); // not remembered as tried: the same files load once they are valid
        } catch (IllegalArgumentException e) {
            refuse(stamp, e.getMessage());
        }
    }

    private void refuse(List<Object> stamp, String why) {
        if (why.equals(problem)) return;
        problem = why;
        tried = stamp;
        log.log(System.Logger.Level.WARNING, what + " not reloaded, still using " + current.describe() + ": " + why);
    }

    /** Each file's modification time, size and identity; a missing or unreadable one is an error naming it. */
    private List<Object> stamp() {
        List<Object> s = new ArrayList<>();
        stamp(s, files.caKey(), files.ca());
        stamp(s, files.certKey(), files.cert());
        stamp(s, files.keyKey(), files.key());
        return s;
    }

    private static void stamp(List<Object> s, String key, Path p) {
        if (p == null) return;
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

    /** Checks the files, then builds the context from them. */
    private Loaded<C> load(List<Object> stamp) {
        List<X509Certificate> ca = files.ca() == null ? List.of() : certificates(files.caKey(), files.ca());
        List<X509Certificate> chain = null;
        PrivateKey key = null;
        String describe = ca.size() + " CA certificate(s)";
        if (files.cert() != null) {
            chain = certificates(files.certKey(), files.cert());
            X509Certificate cert = chain.get(0);
            try {
                cert.checkValidity();
            } catch (CertificateExpiredException e) {
                throw new IllegalArgumentException(files.certKey() + " " + files.cert() + ": the certificate expired on "
                        + cert.getNotAfter().toInstant());
            } catch (CertificateNotYetValidException e) {
                throw new NotYetValid(files.certKey() + " " + files.cert() + ": the certificate is not valid"
                        + " before " + cert.getNotBefore().toInstant());
            }
            key = keyOf(cert);
            describe = "certificate " + cert.getSubjectX500Principal().getName() + " serial "
                    + cert.getSerialNumber().toString(16) + " (valid until " + cert.getNotAfter().toInstant() + "), "
                    + describe;
        }
        return new Loaded<>(build.apply(new Material(ca, chain, key)), stamp, describe);
    }

    private static List<X509Certificate> certificates(String key, Path p) {
        byte[] bytes = read(key, p);
        Collection<? extends Certificate> certs;
        try {
            certs = CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(bytes));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException(key + " " + p + " is not a PEM certificate: " + reason(e));
        }
        if (certs.isEmpty()) throw new IllegalArgumentException(key + " " + p + " holds no certificate");
        List<X509Certificate> out = new ArrayList<>();
        for (Certificate c : certs) out.add((X509Certificate) c);
        return out;
    }

    /** The key file is PKCS#8 and holds the private key of {@code cert}. */
    private PrivateKey keyOf(X509Certificate cert) {
        String text = new String(read(files.keyKey(), files.key()), StandardCharsets.US_ASCII);
        Matcher m = PKCS8.matcher(text);
        if (!m.find()) {
            throw new IllegalArgumentException(files.keyKey() + " " + files.key() + " holds no PKCS#8 key (BEGIN PRIVATE"
                    + " KEY); convert another format with openssl pkcs8 -topk8 -nocrypt");
        }
        String algorithm = cert.getPublicKey().getAlgorithm();
        PrivateKey key;
        try {
            byte[] der = Base64.getMimeDecoder().decode(m.group(1));
            key = KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
        } catch (IllegalArgumentException | GeneralSecurityException e) {
            throw new IllegalArgumentException(files.keyKey() + " " + files.key() + " is not a " + algorithm + " key as"
                    + " the certificate in " + files.certKey() + " " + files.cert() + " needs: " + reason(e));
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
                throw new IllegalArgumentException(files.keyKey() + " " + files.key() + " is not the key of the"
                        + " certificate in " + files.certKey() + " " + files.cert() + " (serial "
                        + cert.getSerialNumber().toString(16) + ")");
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException(files.keyKey() + " " + files.key() + " cannot sign for the certificate in "
                    + files.certKey() + " " + files.cert() + ": " + reason(e));
        }
        return key;
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

    /** The innermost cause's message, which is the one that says what is wrong. */
    private static String reason(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) c = c.getCause();
        return c.getMessage() == null ? c.toString() : c.getMessage();
    }
}

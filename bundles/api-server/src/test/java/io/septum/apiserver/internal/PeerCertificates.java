package io.septum.apiserver.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Real certificates for the peer flow tests, made with openssl: a cluster CA, a certificate per node (subject
 * alternative names DNS:node and IP:127.0.0.1, usable as server and client), and an impostor CA whose certificate
 * for the same node name no node trusts. Keys are PKCS#8 (OpenSSL 3's default for {@code req -newkey}).
 */
final class PeerCertificates {
    final Path dir;

    PeerCertificates(Path dir) {
        this.dir = dir;
    }

    void ca(String name) throws Exception {
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
                "-subj", "/CN=" + name, "-keyout", file(name + "-key.pem"), "-out", file(name + ".pem"));
    }

    /** {@code <node>.pem} and {@code <node>-key.pem} under {@code <ca>/}, signed by {@code ca}. */
    PeerTls node(String ca, String node) throws Exception {
        Path d = Files.createDirectories(dir.resolve(ca));
        String base = d.resolve(node).toString();
        run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=" + node,
                "-keyout", base + "-key.pem", "-out", base + ".csr");
        Files.writeString(Path.of(base + ".ext"), "subjectAltName=DNS:" + node + ",IP:127.0.0.1\n"
                + "extendedKeyUsage=serverAuth,clientAuth\n");
        run("openssl", "x509", "-req", "-in", base + ".csr", "-CA", file(ca + ".pem"), "-CAkey", file(ca + "-key.pem"),
                "-CAcreateserial", "-days", "1", "-extfile", base + ".ext", "-out", base + ".pem");
        return new PeerTls(dir.resolve(ca + ".pem"), Path.of(base + ".pem"), Path.of(base + "-key.pem"));
    }

    private String file(String name) {
        return dir.resolve(name).toString();
    }

    private static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) throw new IOException(String.join(" ", cmd) + " failed: " + out);
    }
}

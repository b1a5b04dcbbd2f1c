package io.septum.apiserver.internal;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The peer flow service's TLS, from PEM files: the cluster CA that signs every node's certificate, and this node's
 * certificate and PKCS#8 key, used both as the server's (other relays dial it) and as the client's (this relay
 * dials them). The JDK's provider; TLS 1.3 and 1.2 only.
 *
 * @param ca   the CA bundle, e.g. {@code peerCaFile} (or {@code caFile})
 * @param cert this node's certificate: subject alternative DNS name = its node name; key usages serverAuth and clientAuth
 * @param key  its key, PKCS#8 ({@code BEGIN PRIVATE KEY})
 */
record PeerTls(Path ca, Path cert, Path key) {
    private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    /** Every file exists and is readable, or an error naming the key and the file. */
    PeerTls {
        check("peerCaFile", ca);
        check("peerCertFile", cert);
        check("peerKeyFile", key);
    }

    private static void check(String name, Path p) {
        if (p == null) throw new IllegalArgumentException(name + " is not set");
        if (!Files.isReadable(p)) throw new IllegalArgumentException(name + " " + p + " does not exist or cannot be read");
    }

    /** Requires a client certificate signed by the CA: a connection without one is refused in the handshake. */
    SslContext server() {
        try {
            return SslContextBuilder.forServer(cert.toFile(), key.toFile()).trustManager(ca.toFile())
                    .clientAuth(ClientAuth.REQUIRE).sslProvider(SslProvider.JDK).protocols(PROTOCOLS).build();
        } catch (Exception e) {
            throw new IllegalArgumentException(what() + ": " + PeerClient.reason(e), e);
        }
    }

    SslContext client() {
        try {
            return SslContextBuilder.forClient().keyManager(cert.toFile(), key.toFile()).trustManager(ca.toFile())
                    .sslProvider(SslProvider.JDK).protocols(PROTOCOLS).build();
        } catch (Exception e) {
            throw new IllegalArgumentException(what() + ": " + PeerClient.reason(e), e);
        }
    }

    private String what() {
        return "peer TLS from peerCaFile " + ca + ", peerCertFile " + cert + ", peerKeyFile " + key
                + " (PEM; the key PKCS#8, convert others with openssl pkcs8 -topk8 -nocrypt)";
    }
}

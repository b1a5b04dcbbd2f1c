package io.septum.apiserver.internal;

import io.netty.handler.ssl.SslContext;
import io.septum.support.tls.FollowedTlsFiles;
import java.util.function.LongSupplier;

/**
 * The peer flow service's TLS files, followed ({@link FollowedTlsFiles}): certificates rotate without an agent
 * restart. Each new connection (served or dialled) asks for the current context; at most every
 * {@code checkEveryMillis} the files are looked at, and when one changed and all of them check out (parse, validity,
 * the key is the certificate's), both Netty contexts are built again from them. Files that do not check out leave
 * the ones in use in use, and are named in {@link #problem()} and the status line.
 */
final class PeerTlsFiles {
    /** Both directions' contexts, built from the same checked files. */
    private record Contexts(SslContext server, SslContext client) {
    }

    private final FollowedTlsFiles<Contexts> followed;

    /**
     * Loads the files once.
     *
     * @throws IllegalArgumentException naming the key, the file and what is wrong with it
     */
    PeerTlsFiles(PeerTls files, long checkEveryMillis, LongSupplier nanoClock) {
        this.followed = new FollowedTlsFiles<>("peer TLS", new FollowedTlsFiles.Paths("peerCaFile", files.ca(),
                "peerCertFile", files.cert(), "peerKeyFile", files.key()),
                checked -> new Contexts(files.server(), files.client()), checkEveryMillis, nanoClock);
    }

    /** The server's context for a new connection (other relays dial this node). */
    SslContext server() {
        return followed.current().server();
    }

    /** The client's context for a new connection (this relay dials another node). */
    SslContext client() {
        return followed.current().client();
    }

    /** Why the files on disk are not the ones in use, or null when they are. */
    String problem() {
        return followed.problem();
    }

    /** The certificate in use: its serial number and end of validity. */
    String describe() {
        return followed.describe();
    }
}

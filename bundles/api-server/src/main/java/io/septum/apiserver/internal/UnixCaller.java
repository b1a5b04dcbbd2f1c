package io.septum.apiserver.internal;

import io.netty.channel.Channel;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.unix.PeerCredentials;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Who is on the other end of the API socket, from the kernel ({@code SO_PEERCRED}), not from anything the client
 * says. The policy history records it as a change's author ({@code uid 0 (root)}); {@link WriteAccess} decides
 * from it whether the caller may change anything.
 */
final class UnixCaller {
    private static final Path PASSWD = Path.of("/etc/passwd");

    private UnixCaller() {
    }

    /**
     * A connected process: user, primary group and process id as the kernel gave them when it connected.
     *
     * @param name {@code uid N (user)}, as histories show it
     */
    record Peer(int uid, int gid, int pid, String name) {
        /** {@code uid N (user)}: given, or looked up when first asked (never on the event loop that reads requests). */
        @Override
        public String name() {
            return name != null ? name : describe(uid, PASSWD);
        }

        @Override
        public String toString() {
            return name();
        }
    }

    /** The caller of a unix-socket connection, or null when the channel is not one or the kernel would not say. */
    static Peer of(Channel ch) {
        if (!(ch instanceof EpollDomainSocketChannel unix)) return null;
        try {
            PeerCredentials c = unix.peerCredentials();
            return new Peer(c.uid(), c.gids().length > 0 ? c.gids()[0] : -1, c.pid(), null);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** {@code uid N (name)}, the name from a passwd file when it lists the uid; {@code uid N} otherwise. */
    static String describe(int uid, Path passwd) {
        try {
            for (String line : Files.readAllLines(passwd, StandardCharsets.UTF_8)) {
                String[] f = line.split(":", -1);
                if (f.length > 2 && f[2].equals(Integer.toString(uid)) && !f[0].isEmpty()) {
                    return "uid " + uid + " (" + f[0] + ")";
                }
            }
        } catch (IOException | RuntimeException e) {
            // no passwd file to name it: the number alone
        }
        return "uid " + uid;
    }
}

package io.septum.source.docker.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds the host side of a container's veth: the container's {@code eth0} names its peer's ifindex in {@code iflink},
 * and the root namespace's link with that ifindex is the interface to enforce on.
 */
final class HostLinks {
    private static final Pattern PEER = Pattern.compile("@if(\\d+)");
    private final Path sysClassNet;
    private final Duration timeout;

    HostLinks(Path sysClassNet, Duration timeout) {
        this.sysClassNet = sysClassNet;
        this.timeout = timeout;
    }

    /** The host-side interface of {@code pid}'s {@code eth0}, or null when it has none (e.g. network mode none). */
    String hostPeer(long pid, String ifname) throws IOException {
        int peer = peerIndex(pid, ifname);
        if (peer <= 0) return null;
        try (DirectoryStream<Path> links = Files.newDirectoryStream(sysClassNet)) {
            for (Path link : links) {
                Path index = link.resolve("ifindex");
                try {
                    if (Integer.parseInt(Files.readString(index).trim()) == peer) return link.getFileName().toString();
                } catch (IOException | NumberFormatException e) {
                    // The link went away while we looked; it was not ours.
                }
            }
        }
        return null;
    }

    private int peerIndex(long pid, String ifname) throws IOException {
        // The container's own sysfs (Docker mounts one per container) shows its namespace's links.
        Path iflink = Path.of("/proc", Long.toString(pid), "root", "sys", "class", "net", ifname, "iflink");
        try {
            return Integer.parseInt(Files.readString(iflink).trim());
        } catch (IOException | NumberFormatException e) {
            // An image without /sys mounted, or a racing exit: ask the namespace itself.
        }
        Process p = new ProcessBuilder("nsenter", "-t", Long.toString(pid), "-n", "ip", "-o", "link", "show", ifname)
                .redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IOException("nsenter -t " + pid + " -n ip link show " + ifname + " timed out after " + timeout);
            }
            if (p.exitValue() != 0) return -1;
            Matcher m = PEER.matcher(out);
            return m.find() ? Integer.parseInt(m.group(1)) : -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException("interrupted while reading the links of pid " + pid, e);
        }
    }
}

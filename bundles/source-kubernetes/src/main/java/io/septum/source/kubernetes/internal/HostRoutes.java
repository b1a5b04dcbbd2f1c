package io.septum.source.kubernetes.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Finds a pod's host-side interface. First the way the kernel does: the route to the pod's IP, which CNI plugins
 * such as ptp install through the pod's own veth. When that route leads to a bridge (the bridge plugin) or nowhere,
 * the pod's network namespace tells: container runtimes pin pod namespaces under {@code /run/netns} (containerd's
 * {@code cni-<id>}), so the namespace holding the IP is found there, and the root-namespace peer of the veth that
 * carries the IP is the interface to enforce on.
 */
class HostRoutes {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Duration timeout;

    HostRoutes(Duration timeout) {
        this.timeout = timeout;
    }

    /** The host-side interface of the pod with address {@code ip}, or null when it is not (yet) on this host. */
    String hostInterface(String ip) throws IOException {
        String dev = deviceFor(ip);
        if (dev != null && isPeerLink(dev)) return dev;
        return byNetns(ip);
    }

    /**
     * A veth-like link (its iflink names a peer), not a bridge: a route out of the host's uplink or a bridge does
     * not name the pod's own interface, and enforcing there would hit every other workload too.
     */
    static boolean isPeerLink(String dev) {
        Path d = Path.of("/sys/class/net", dev);
        if (Files.isDirectory(d.resolve("bridge"))) return false;
        try {
            return !Files.readString(d.resolve("iflink")).trim().equals(Files.readString(d.resolve("ifindex")).trim());
        } catch (IOException e) {
            return false;
        }
    }

    /** Looks for {@code ip} in the named network namespaces, and returns the host end of the veth carrying it. */
    String byNetns(String ip) throws IOException {
        Path dir = Path.of("/run/netns");
        if (!Files.isDirectory(dir)) return null;
        try (DirectoryStream<Path> all = Files.newDirectoryStream(dir)) {
            for (Path ns : all) {
                JsonNode links = run("ip", "-n", ns.getFileName().toString(), "-j", "addr", "show");
                if (links == null || !links.isArray()) continue;
                for (JsonNode link : links) {
                    boolean has = false;
                    for (JsonNode a : link.path("addr_info")) has |= ip.equals(a.path("local").asText());
                    // link_index is the peer's ifindex; link_netnsid says the peer is in another namespace.
                    if (has && link.has("link_index") && link.has("link_netnsid")) {
                        return byIndex(link.path("link_index").asInt());
                    }
                }
            }
        }
        return null;
    }

    private static String byIndex(int index) {
        try (DirectoryStream<Path> links = Files.newDirectoryStream(Path.of("/sys/class/net"))) {
            for (Path l : links) {
                try {
                    if (Integer.parseInt(Files.readString(l.resolve("ifindex")).trim()) == index) {
                        return l.getFileName().toString();
                    }
                } catch (IOException | NumberFormatException e) {
                    // Gone while we looked: not ours.
                }
            }
        } catch (IOException e) {
            return null;
        }
        return null;
    }

    private JsonNode run(String... command) throws IOException {
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + " timed out after " + timeout.toSeconds() + " s");
            }
            if (p.exitValue() != 0 || out.isBlank()) return null;
            return JSON.readTree(out);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException("interrupted: " + String.join(" ", command), e);
        }
    }

    /** The interface a directly connected route to {@code ip} leaves by, or null (no route, via a gateway, local). */
    String deviceFor(String ip) throws IOException {
        Process p = new ProcessBuilder("ip", "-j", "route", "get", ip).redirectErrorStream(true).start();
        String out;
        try {
            out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IOException("ip route get " + ip + " timed out after " + timeout.toSeconds() + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException("interrupted while asking the route to " + ip, e);
        }
        if (p.exitValue() != 0) return null;
        JsonNode routes = JSON.readTree(out);
        if (!routes.isArray() || routes.isEmpty()) return null;
        JsonNode r = routes.get(0);
        if (r.hasNonNull("gateway")) return null;
        String type = r.path("type").asText("");
        String dev = r.path("dev").asText("");
        if ("local".equals(type) || dev.isEmpty() || "lo".equals(dev)) return null;
        return dev;
    }
}

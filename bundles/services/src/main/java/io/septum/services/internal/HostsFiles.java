package io.septum.services.internal;

import io.septum.api.Endpoint;
import io.septum.api.service.Service;
import io.septum.support.io.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Hosts files for network-namespace endpoints: {@code ip netns exec NAME} bind-mounts every file of
 * {@code /etc/netns/NAME/} over {@code /etc/}, so {@code /etc/netns/NAME/hosts} is what programs inside resolve
 * with. Each service is listed by {@code NAME.NAMESPACE.svc.cluster.local} and {@code NAME.NAMESPACE}, and by its bare
 * name in endpoints of its own namespace (Kubernetes' search path). Only named namespaces (under
 * {@code /var/run/netns}) get one, only while services exist, and a file without our first line is never touched.
 */
class HostsFiles {
    static final String MARKER = "# written by septum (services): edits are overwritten";
    private static final Logger LOG = Logger.getLogger(HostsFiles.class.getName());
    private final Path root;
    /** netns name to the content last written. */
    private final Map<String, String> written = new HashMap<>();
    private boolean scanned;

    HostsFiles(Path root) {
        this.root = root;
    }

    /** The namespace name that {@code ip netns exec} knows the endpoint by, or null. */
    static String netnsName(Endpoint ep) {
        String n = ep.netns();
        if (n == null || n.isBlank()) return null;
        for (String dir : List.of("/var/run/netns/", "/run/netns/")) {
            if (n.startsWith(dir)) n = n.substring(dir.length());
        }
        if (n.startsWith("/") || n.contains("/") || n.equals(".") || n.equals("..")) return null;
        return n;
    }

    static String content(String namespace, List<Service> services) {
        StringBuilder b = new StringBuilder(MARKER).append('\n');
        b.append("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        for (Service s : services) {
            b.append(s.frontendIp()).append('\t').append(s.name()).append('.').append(s.namespace()).append(".svc.cluster.local ")
                    .append(s.name()).append('.').append(s.namespace());
            if (s.namespace().equals(namespace)) b.append(' ').append(s.name());
            b.append('\n');
        }
        return b.toString();
    }

    /** Returns the first error, or null. */
    String sync(List<Endpoint> endpoints, List<Service> services) {
        String error = null;
        if (!scanned) {
            scanned = true;
            // files a previous agent wrote: rewritten if still wanted, removed if not
            try (var dirs = Files.list(root)) {
                dirs.filter(d -> ours(d.resolve("hosts"))).forEach(d -> written.put(d.getFileName().toString(), ""));
            } catch (IOException | java.io.UncheckedIOException ignored) {
                // no /etc/netns yet
            }
        }
        Map<String, String> want = new HashMap<>();
        if (!services.isEmpty()) {
            for (Endpoint ep : endpoints) {
                String name = netnsName(ep);
                if (name != null) want.put(name, content(ep.namespace(), services));
            }
        }
        for (Map.Entry<String, String> e : want.entrySet()) {
            if (e.getValue().equals(written.get(e.getKey()))) continue;
            try {
                write(e.getKey(), e.getValue());
                written.put(e.getKey(), e.getValue());
            } catch (IOException ex) {
                if (error == null) error = "hosts file for netns " + e.getKey() + ": " + ex.getMessage();
            }
        }
        Set<String> stale = new HashSet<>(written.keySet());
        stale.removeAll(want.keySet());
        for (String name : stale) {
            remove(name);
            written.remove(name);
        }
        return error;
    }

    private void write(String netns, String content) throws IOException {
        Path dir = root.resolve(netns);
        Path file = dir.resolve("hosts");
        if (Files.exists(file) && !ours(file)) {
            throw new IOException(file + " exists and was not written by septum; left alone");
        }
        Files.createDirectories(dir);
        // world-readable: every program in the namespace resolves with it
        AtomicFiles.write(file, content.getBytes(StandardCharsets.UTF_8), AtomicFiles.WORLD_READABLE);
    }

    private void remove(String netns) {
        Path dir = root.resolve(netns);
        Path file = dir.resolve("hosts");
        try {
            if (Files.exists(file) && ours(file)) Files.delete(file);
            try (var s = Files.list(dir)) {
                if (s.findAny().isEmpty()) Files.delete(dir);
            }
        } catch (IOException e) {
            LOG.fine(() -> "removing " + file + ": " + e.getMessage());
        }
    }

    private static boolean ours(Path file) {
        try (var lines = Files.lines(file)) {
            return lines.findFirst().map(MARKER::equals).orElse(false);
        } catch (IOException | java.io.UncheckedIOException e) {
            return false;
        }
    }

    /** Removes every file this object wrote (used when services go away entirely). */
    void removeAll() {
        for (String name : new HashSet<>(written.keySet())) remove(name);
        written.clear();
    }
}

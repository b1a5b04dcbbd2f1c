package io.septum.services.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.septum.api.Endpoint;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The link-layer address of an endpoint's own interface (the peer of its host-side veth), which the datapath
 * writes into load-balanced packets so that a shared bridge delivers them to the backend. Read once per
 * endpoint interface with {@code ip -j link show} inside its namespace ({@code ip -n} for names, {@code nsenter}
 * for paths) and cached.
 */
class MacResolver {
    private static final Logger LOG = Logger.getLogger(MacResolver.class.getName());
    private final ObjectMapper json = new ObjectMapper();
    private final Duration timeout;
    private final Map<String, String> cache = new ConcurrentHashMap<>();

    MacResolver(Duration timeout) {
        this.timeout = timeout;
    }

    /** Null when it cannot be found (no namespace, command failed): the datapath then keeps the packet's MAC. */
    String mac(Endpoint ep) {
        if (ep.netns() == null || ep.netns().isBlank() || ep.ifindex() <= 0) return null;
        String key = ep.id() + "|" + ep.ifindex() + "|" + ep.netns();
        String cached = cache.get(key);
        if (cached != null) return cached.isEmpty() ? null : cached;
        String mac = lookup(ep);
        cache.put(key, mac == null ? "" : mac);
        return mac;
    }

    /** Forgets endpoints that are gone, so that a recreated one is looked up again. */
    void retain(List<Endpoint> endpoints) {
        java.util.Set<String> keep = new java.util.HashSet<>();
        for (Endpoint ep : endpoints) keep.add(ep.id() + "|" + ep.ifindex() + "|" + ep.netns());
        cache.keySet().retainAll(keep);
    }

    String lookup(Endpoint ep) {
        List<String> argv = new ArrayList<>();
        if (ep.netns().startsWith("/")) argv.addAll(List.of("nsenter", "--net=" + ep.netns(), "ip"));
        else argv.addAll(List.of("ip", "-n", ep.netns()));
        argv.addAll(List.of("-j", "link", "show"));
        try {
            Process p = new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                return null;
            }
            if (p.exitValue() != 0) return null;
            JsonNode links = json.readTree(new String(out, StandardCharsets.UTF_8));
            String byPeer = null, byName = null;
            for (JsonNode l : links) {
                if (l.path("link_index").asInt(-1) == ep.ifindex()) byPeer = l.path("address").asText(null);
                if ("eth0".equals(l.path("ifname").asText())) byName = l.path("address").asText(null);
            }
            return byPeer != null ? byPeer : byName;
        } catch (IOException e) {
            LOG.fine(() -> "MAC of endpoint " + ep.qualifiedName() + ": " + e.getMessage());
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}

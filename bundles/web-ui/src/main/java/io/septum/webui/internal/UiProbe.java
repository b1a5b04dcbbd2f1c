package io.septum.webui.internal;

import io.septum.api.Endpoint;
import io.septum.api.EndpointManager;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowObserver;
import io.septum.api.flow.FlowQuery;
import io.septum.api.flow.ProbeResult;
import io.septum.support.probe.NetnsProbe;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The UI's probe, as {@code septum probe FROM TO PORT[/TCP|/HTTP]|ICMP}: one real attempt from inside the source
 * endpoint's network namespace (the agent runs as root) to the destination (a TCP connection, an HTTP request that
 * the L7 proxy judges where HTTP rules apply, or a ping), then the flows the agent recorded for it. It sends packets
 * from inside an endpoint, so the workbench treats it as a change: it needs a session.
 */
final class UiProbe {
    /** How long the attempt waits for an answer. */
    static final Duration WAIT = Duration.ofSeconds(1);
    /** How long the verdicts may take to reach the observer after the attempt. */
    private static final long FLOWS_WAIT_MILLIS = 1_500;

    private final UiBackend backend;

    UiProbe(UiBackend backend) {
        this.backend = backend;
    }

    /** @param protocol TCP, HTTP ({@code method} and {@code path} then make the request) or ICMP (no port) */
    ProbeResult probe(String from, String to, int port, String protocol, String method, String path) {
        if (!protocol.equals("TCP") && !protocol.equals("HTTP") && !protocol.equals("ICMP")) {
            throw new UiException(400, "protocol \"" + protocol + "\" cannot be probed (TCP, HTTP or ICMP)");
        }
        if (protocol.equals("ICMP")) port = 0;
        else if (port < 1 || port > 65535) throw new UiException(400, "port " + port + " is out of range 1-65535");
        Endpoint src = endpoint(from, "from");
        if (src.netns() == null || src.netns().isBlank()) {
            throw new UiException(400, "endpoint " + src.qualifiedName() + " has no network namespace of its own to probe"
                    + " from (source " + src.source() + ")");
        }
        String address;
        String target;
        if (to != null && to.matches("[0-9]+(\\.[0-9]*)+")) {
            if (!NetnsProbe.isCanonicalIpv4(to)) {
                throw new UiException(400, "\"" + to + "\" is not an IPv4 address as 10.0.0.1 writes one (no leading zeros)");
            }
            address = to;
            target = to;
        } else {
            Endpoint dst = endpoint(to, "to");
            address = dst.addresses().stream().filter(a -> !a.contains(":")).findFirst()
                    .orElseThrow(() -> new UiException(400, "endpoint " + dst.qualifiedName() + " has no IPv4 address to probe"));
            target = dst.qualifiedName();
        }
        Instant start = Instant.now();
        String netns = NetnsProbe.path(src.netns());
        NetnsProbe.Outcome o;
        try {
            o = switch (protocol) {
                case "ICMP" -> NetnsProbe.ping(netns, address, WAIT);
                case "HTTP" -> NetnsProbe.http(netns, method.toUpperCase(java.util.Locale.ROOT), address, port, path, WAIT);
                default -> NetnsProbe.tcp(netns, address, port, WAIT);
            };
        } catch (IllegalArgumentException e) {
            throw new UiException(400, e.getMessage());
        }
        return new ProbeResult(src.qualifiedName(), target, address, port, protocol, o.result(), o.passed(), o.detail(),
                flows(src, address, port, start));
    }

    private Endpoint endpoint(String name, String field) {
        if (name == null || name.isBlank()) throw new UiException(400, "the probe needs \"" + field + "\"");
        return backend.need(EndpointManager.class).get(name.strip())
                .orElseThrow(() -> new UiException(404, "no endpoint " + name.strip()));
    }

    /** The source's egress and the destination's ingress verdicts of this attempt; the observer may lag a moment. */
    private List<Flow> flows(Endpoint src, String address, int port, Instant start) {
        Map<String, List<String>> params = new java.util.HashMap<>(Map.of("since", List.of(start.minusMillis(50).toString()),
                "from-endpoint", List.of(String.valueOf(src.id())), "to-ip", List.of(address), "last", List.of("20")));
        if (port > 0) params.put("port", List.of(String.valueOf(port))); // a ping has none
        FlowQuery q = FlowQuery.parse(params, 20, Set.of());
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(FLOWS_WAIT_MILLIS);
        List<Flow> flows = backend.need(FlowObserver.class).query(q.filter(), q.last());
        // until some are there and a query 100 ms later finds no more: the destination's ingress verdict may come a
        // moment after the source's egress one
        int seen = -1;
        while ((flows.isEmpty() || flows.size() != seen) && System.nanoTime() < until) {
            seen = flows.size();
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            flows = backend.need(FlowObserver.class).query(q.filter(), q.last());
        }
        return flows;
    }
}

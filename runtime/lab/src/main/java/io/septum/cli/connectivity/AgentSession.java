package io.septum.cli.connectivity;

import com.fasterxml.jackson.databind.JsonNode;
import io.septum.api.AgentStatus;
import io.septum.api.Endpoint;
import io.septum.api.EndpointSpec;
import io.septum.api.EndpointState;
import io.septum.api.NamedPort;
import io.septum.api.policy.ImportResult;
import io.septum.api.policy.PolicyInfo;
import io.septum.cli.AgentClient;
import io.septum.cli.AgentException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * What a lab run changes in the agent, and how it is undone: namespace labels (restored), endpoints registered
 * through the {@code netns} source (deleted) and imported policies (deleted by name). Every wait is bounded.
 *
 * <p>{@link #close()} undoes everything in reverse order and never throws; what it cannot undo is reported as a
 * warning with the command that finishes the job by hand.
 */
public final class AgentSession implements AutoCloseable {
    private final AgentClient client;
    private final Consumer<String> warnings;
    private final Map<String, Registered> endpoints = new LinkedHashMap<>();
    private final List<String[]> policies = new ArrayList<>();
    private final Map<String, Map<String, String>> previousNamespaceLabels = new LinkedHashMap<>();
    /** Host interfaces of endpoints another source reports (containers): they go with their workload, not by API. */
    private final java.util.Set<String> watched = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private boolean closed;

    /** An endpoint this session registered, by the lab node that backs it. */
    public record Registered(NetLab.Node node, String name, String namespace, Map<String, String> labels) {
        public String qualifiedName() {
            return namespace + "/" + name;
        }
    }

    /** {@code warnings} gets one line per thing {@link #close()} could not undo. */
    public AgentSession(AgentClient client, Consumer<String> warnings) {
        this.client = client;
        this.warnings = warnings;
    }

    public AgentClient client() {
        return client;
    }

    public AgentStatus status() {
        return client.get("/v1/status", AgentStatus.class);
    }

    /** Sets a namespace's labels, remembering the old ones so that {@link #close()} restores them. */
    public synchronized void setNamespaceLabels(String namespace, Map<String, String> labels) {
        if (!previousNamespaceLabels.containsKey(namespace)) {
            Map<String, Map<String, String>> all = client.get("/v1/namespaces",
                    client.mapper().getTypeFactory().constructMapType(Map.class,
                            client.mapper().getTypeFactory().constructType(String.class),
                            client.mapper().getTypeFactory().constructMapType(Map.class, String.class, String.class)));
            previousNamespaceLabels.put(namespace, all == null ? Map.of() : all.getOrDefault(namespace, Map.of()));
        }
        client.put("/v1/namespaces/" + AgentClient.segment(namespace), labels);
    }

    /** Registers a lab node as an endpoint of the {@code netns} source. */
    public void register(NetLab.Node node, String name, String namespace, Map<String, String> labels, String runId) {
        register(node, name, namespace, labels, List.of(), runId);
    }

    /** Registers a lab node as an endpoint of the {@code netns} source, with the named ports its case declares. */
    public synchronized void register(NetLab.Node node, String name, String namespace, Map<String, String> labels,
                                      List<NamedPort> ports, String runId) {
        EndpointSpec spec = new EndpointSpec("lab-" + runId + "-" + node.index(), name, namespace, labels,
                node.hostInterface(), node.netns(), List.of(node.ip()), null,
                Map.of("netns", node.netns(), "septum-lab", runId), ports);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("source", "netns");
        body.put("spec", spec);
        // registered before the call: a call that times out may still have created it
        endpoints.put(node.hostInterface(), new Registered(node, name, namespace, labels));
        client.post("/v1/endpoints", body, JsonNode.class);
    }

    /**
     * Expects an endpoint that the agent's own source reports (a container seen by source-docker): waited for like a
     * registered one, but never deleted through the API, since its source removes it with the container.
     */
    public synchronized void watch(NetLab.Node node, String name, String namespace, Map<String, String> labels) {
        endpoints.put(node.hostInterface(), new Registered(node, name, namespace, labels));
        watched.add(node.hostInterface());
    }

    public synchronized List<Registered> registered() {
        return List.copyOf(endpoints.values());
    }

    /** This session's endpoints as the agent sees them now, matched by host interface. */
    public List<Endpoint> ours() {
        List<Endpoint> all = client.list("/v1/endpoints", Endpoint.class);
        Map<String, Registered> mine;
        synchronized (this) {
            mine = Map.copyOf(endpoints);
        }
        return all.stream().filter(e -> mine.containsKey(e.interfaceName())
                        || mine.values().stream().anyMatch(r -> r.qualifiedName().equals(e.qualifiedName())
                        && r.node().netns().equals(e.netns())))
                .toList();
    }

    public Optional<Endpoint> endpointOf(NetLab.Node node) {
        return ours().stream().filter(e -> node.hostInterface().equals(e.interfaceName())).findFirst();
    }

    /** Waits until every registered endpoint is {@code ready}; throws naming the stragglers and their messages. */
    public List<Endpoint> awaitReady(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        int want;
        synchronized (this) {
            want = endpoints.size();
        }
        List<Endpoint> seen = List.of();
        while (true) {
            seen = ours();
            long ready = seen.stream().filter(e -> e.state() == EndpointState.READY).count();
            if (ready >= want) return seen;
            if (System.nanoTime() > deadline) {
                List<String> bad = new ArrayList<>();
                for (Registered r : registered()) {
                    Optional<Endpoint> e = seen.stream().filter(x -> r.node().hostInterface().equals(x.interfaceName()))
                            .findFirst();
                    if (e.isEmpty()) {
                        bad.add(r.qualifiedName() + ": not listed by the agent");
                    } else if (e.get().state() != EndpointState.READY) {
                        bad.add(r.qualifiedName() + ": " + e.get().state()
                                + (e.get().message() == null ? "" : " (" + e.get().message() + ")"));
                    }
                }
                throw new LabException("endpoints not ready after " + timeout.toMillis() + " ms: " + String.join("; ", bad));
            }
            pause(100);
        }
    }

    /** Imports policy YAML; remembers the policies so that {@link #close()} deletes them. */
    public ImportResult importPolicies(String origin, String yaml, List<PolicyInfo> parsed) {
        synchronized (this) {
            for (PolicyInfo p : parsed) {
                policies.add(new String[] {p.namespace() == null || p.namespace().isEmpty() ? "-" : p.namespace(), p.name()});
            }
        }
        return client.post("/v1/policies", yaml, origin, ImportResult.class);
    }

    /** Waits until every endpoint of this session has realised at least {@code revision}. */
    public void awaitRevision(long revision, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<Endpoint> seen = ours();
            List<Endpoint> behind = seen.stream().filter(e -> e.policyRevision() < revision).toList();
            if (behind.isEmpty() && seen.size() >= registered().size()) return;
            if (System.nanoTime() > deadline) {
                throw new LabException("policy revision " + revision + " not realised after " + timeout.toMillis()
                        + " ms by: " + behind.stream().map(e -> e.qualifiedName() + " (at " + e.policyRevision()
                        + (e.message() == null ? "" : ", " + e.message()) + ")").collect(Collectors.joining(", ")));
            }
            pause(100);
        }
    }

    /**
     * Deletes endpoints that labs of kind {@code kind} registered and that outlived their lab (a killed run, or a
     * {@code --keep} run). Call it before {@link NetLab#cleanupStale(String)}: a source may stop listing an endpoint
     * once its namespace is gone, and then the API can no longer delete it. Returns their names.
     */
    public static List<String> removeLeftovers(AgentClient client, String kind) {
        List<String> removed = new ArrayList<>();
        for (Endpoint e : client.list("/v1/endpoints", Endpoint.class)) {
            String lab = e.externalIds().get("septum-lab");
            String netns = e.netns() == null ? "" : e.netns();
            String ns = netns.substring(netns.lastIndexOf('/') + 1);
            String runId = lab != null ? lab : NetLab.runIdOf(ns, NetLab.NETNS_PREFIX);
            if (runId == null || !runId.startsWith(kind)) continue;
            if (NetLab.labExists(runId) && !NetLab.isStaleRun(runId)) continue;
            try {
                client.delete("/v1/endpoints/" + e.id());
                removed.add(e.qualifiedName());
            } catch (AgentException ex) {
                if (ex.status() != 404) throw ex;
            }
        }
        return removed;
    }

    /** Undoes what this session did: policies, endpoints, namespace labels. Never throws. */
    @Override
    public void close() {
        List<String[]> pols;
        List<Registered> eps;
        Map<String, Map<String, String>> labels;
        synchronized (this) {
            if (closed) return;
            closed = true;
            pols = new ArrayList<>(policies);
            eps = new ArrayList<>(endpoints.values());
            labels = new LinkedHashMap<>(previousNamespaceLabels);
        }
        for (String[] p : pols) {
            try {
                client.delete("/v1/policies/" + AgentClient.segment(p[0]) + "/" + AgentClient.segment(p[1]));
            } catch (AgentException e) {
                if (e.status() != 404) warn("could not delete policy " + p[0] + "/" + p[1] + ": " + e.getMessage()
                        + " (septum policy delete " + p[1] + ("-".equals(p[0]) ? "" : " -n " + p[0]) + ")");
            }
        }
        List<Endpoint> present;
        try {
            present = client.list("/v1/endpoints", Endpoint.class);
        } catch (AgentException e) {
            present = List.of();
            if (!eps.isEmpty()) warn("could not list endpoints to delete them: " + e.getMessage());
        }
        for (Registered r : eps) {
            if (watched.contains(r.node().hostInterface())) continue;
            Optional<Endpoint> e = present.stream().filter(x -> r.node().hostInterface().equals(x.interfaceName())).findFirst();
            String ref = e.map(x -> Long.toString(x.id())).orElse(r.qualifiedName());
            if (e.isEmpty() && !present.isEmpty()) continue;
            try {
                client.delete("/v1/endpoints/" + AgentClient.segment(ref));
            } catch (AgentException ex) {
                if (ex.status() != 404) warn("could not delete endpoint " + r.qualifiedName() + ": " + ex.getMessage()
                        + " (septum endpoint delete " + ref + ")");
            }
        }
        for (Map.Entry<String, Map<String, String>> l : labels.entrySet()) {
            try {
                client.put("/v1/namespaces/" + AgentClient.segment(l.getKey()), l.getValue());
            } catch (AgentException e) {
                warn("could not restore the labels of namespace " + l.getKey() + ": " + e.getMessage());
            }
        }
    }

    private void warn(String s) {
        if (warnings != null) warnings.accept("septum: " + s);
    }

    private static void pause(long millis) {
        LabException.pause(millis, "interrupted while waiting for the agent");
    }
}

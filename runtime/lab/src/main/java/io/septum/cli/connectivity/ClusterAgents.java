package io.septum.cli.connectivity;

import com.fasterxml.jackson.core.type.TypeReference;
import io.septum.api.AgentStatus;
import io.septum.api.Endpoint;
import io.septum.api.IpcacheEntry;
import io.septum.api.policy.ClusterPolicy;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.TestCase;
import io.septum.cli.AgentClient;
import io.septum.cli.AgentException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * The agents of a {@link LabCluster} for one case: each node's endpoints are registered with that node's agent,
 * namespace labels are set on every node, and the policies are imported once as cluster policies (etcd), which
 * every node enforces. A case is enforced when every node has realised every policy, every endpoint is at its
 * node's revision, and every node's BPF ipcache holds every other node's case endpoints with their identities.
 */
final class ClusterAgents implements LabAgents {
    private static final TypeReference<List<ClusterPolicy>> CLUSTER_POLICIES = new TypeReference<>() { };

    private final LabCluster cluster;
    private final List<LabCluster.Member> members;
    private final List<AgentSession> sessions = new ArrayList<>();
    private final Consumer<String> notes;
    private final List<ClusterPolicy> imported = new ArrayList<>();

    ClusterAgents(LabCluster cluster, Consumer<String> notes) {
        this.cluster = cluster;
        this.members = cluster.members();
        this.notes = notes;
        for (LabCluster.Member m : members) sessions.add(new AgentSession(m.client(), notes));
    }

    private AgentClient first() {
        return members.get(0).client();
    }

    @Override
    public AgentStatus status() {
        return sessions.get(0).status();
    }

    @Override
    public String conflicts(List<PolicyInfo> parsed) {
        for (ClusterPolicy c : first().get("/v1/cluster/policies", CLUSTER_POLICIES)) {
            for (PolicyInfo p : parsed) {
                if (Objects.equals(c.name(), p.name()) && Objects.equals(c.namespace(), p.namespace() == null ? "" : p.namespace())) {
                    return "the cluster already holds policy " + c.qualifiedName() + " (an earlier case did not remove it;"
                            + " septum policy delete --cluster " + c.name() + ")";
                }
            }
        }
        return null;
    }

    @Override
    public List<String> removeLeftovers() {
        // the nodes' agents are the lab's own, started empty
        return List.of();
    }

    @Override
    public void setNamespaceLabels(String namespace, Map<String, String> labels) {
        for (AgentSession s : sessions) s.setNamespaceLabels(namespace, labels);
    }

    @Override
    public void register(LabRuntime lab, NetLab.Node node, TestCase.Endpoint endpoint) {
        lab.register(sessions.get(lab.host(node)), node, endpoint);
    }

    @Override
    public List<AgentSession.Registered> registered() {
        List<AgentSession.Registered> all = new ArrayList<>();
        for (AgentSession s : sessions) all.addAll(s.registered());
        return all;
    }

    @Override
    public List<Endpoint> awaitReady(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<Endpoint> all = new ArrayList<>();
        for (AgentSession s : sessions) all.addAll(s.awaitReady(remaining(deadline)));
        return all;
    }

    @Override
    public long enforce(String origin, String yaml, List<PolicyInfo> parsed, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long revision = 0;
        if (!yaml.isBlank()) {
            List<ClusterPolicy> stored = first().post("/v1/cluster/policies", yaml, origin, CLUSTER_POLICIES);
            synchronized (this) {
                imported.addAll(stored);
            }
            for (ClusterPolicy p : stored) revision = Math.max(revision, p.revision());
            awaitRealised(stored, deadline);
        }
        for (AgentSession s : sessions) s.awaitRevision(s.status().policyRevision(), remaining(deadline));
        awaitRemoteEndpoints(deadline);
        return revision;
    }

    /** Until every node reports each stored policy realised at its revision (policy-status in etcd). */
    private void awaitRealised(List<ClusterPolicy> stored, long deadline) {
        while (true) {
            List<String> behind = new ArrayList<>();
            List<ClusterPolicy> now = first().get("/v1/cluster/policies", CLUSTER_POLICIES);
            for (ClusterPolicy want : stored) {
                ClusterPolicy have = now.stream().filter(c -> c.qualifiedName().equals(want.qualifiedName())).findFirst().orElse(null);
                for (LabCluster.Member m : members) {
                    Long r = have == null ? null : have.realized().get(m.name());
                    if (r == null || r < want.revision()) behind.add(m.name() + " (" + want.qualifiedName() + " at " + r + ")");
                }
            }
            if (behind.isEmpty()) return;
            if (System.nanoTime() > deadline) {
                throw new LabException("cluster policies not realised in time by: " + String.join(", ", behind));
            }
            pause();
        }
    }

    /**
     * Until every node's BPF ipcache maps every other node's case endpoints to their identities, with source
     * {@code kvstore:<node>}: before that, a remote peer is {@code world} there, and an allow probe would fail.
     */
    private void awaitRemoteEndpoints(long deadline) {
        while (true) {
            List<List<Endpoint>> local = new ArrayList<>();
            for (AgentSession s : sessions) local.add(s.ours());
            List<String> missing = new ArrayList<>();
            for (int k = 0; k < members.size(); k++) {
                List<IpcacheEntry> ipcache = members.get(k).client().list("/v1/bpf/ipcache", IpcacheEntry.class);
                for (int j = 0; j < members.size(); j++) {
                    if (j == k) continue;
                    String source = "kvstore:" + members.get(j).name();
                    for (Endpoint e : local.get(j)) {
                        for (String ip : e.addresses()) {
                            String prefix = ip.contains("/") ? ip : ip + "/32";
                            boolean known = ipcache.stream().anyMatch(c -> c.prefix().equals(prefix)
                                    && c.identity() == e.identity() && c.source().equals(source));
                            if (!known) missing.add(members.get(k).name() + " lacks " + e.qualifiedName() + " " + prefix);
                        }
                    }
                }
            }
            if (missing.isEmpty()) return;
            if (System.nanoTime() > deadline) {
                throw new LabException("remote endpoints not in the nodes' ipcache in time: " + String.join("; ", missing));
            }
            pause();
        }
    }

    /**
     * Deletes the case's cluster policies and waits (bounded) until no node holds them any more, so that the next
     * case starts clean; then each node's session removes its endpoints and restores namespace labels.
     */
    @Override
    public void close() {
        List<ClusterPolicy> mine;
        synchronized (this) {
            mine = List.copyOf(imported);
            imported.clear();
        }
        for (ClusterPolicy p : mine) {
            try {
                first().delete("/v1/cluster/policies/" + (p.namespace().isEmpty() ? "" : AgentClient.segment(p.namespace()) + "/")
                        + AgentClient.segment(p.name()));
            } catch (AgentException e) {
                if (e.status() != 404) notes.accept("septum: could not delete cluster policy " + p.qualifiedName() + ": " + e.getMessage());
            }
        }
        if (!mine.isEmpty()) {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            for (LabCluster.Member m : members) {
                while (true) {
                    List<String> still;
                    try {
                        still = m.client().list("/v1/policies", PolicyInfo.class).stream()
                                .filter(i -> mine.stream().anyMatch(p -> p.name().equals(i.name())
                                        && p.namespace().equals(i.namespace() == null ? "" : i.namespace())))
                                .map(PolicyInfo::qualifiedName).collect(Collectors.toList());
                    } catch (AgentException e) {
                        notes.accept("septum: " + m.name() + ": " + e.getMessage());
                        break;
                    }
                    if (still.isEmpty()) break;
                    if (System.nanoTime() > deadline) {
                        notes.accept("septum: " + m.name() + " still holds " + still + " 30 s after their deletion");
                        break;
                    }
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                }
            }
        }
        for (AgentSession s : sessions) s.close();
    }

    private static Duration remaining(long deadline) {
        return Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
    }

    private static void pause() {
        LabException.pause(100, "interrupted while waiting for the nodes");
    }

    @Override
    public String toString() {
        return "ClusterAgents[" + cluster.runId() + "]";
    }
}

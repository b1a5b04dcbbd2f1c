package io.septum.cli.connectivity;

import io.septum.api.policy.TestCase;
import io.septum.cli.AgentClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * One case's lab on a {@link LabCluster}: per node, a {@link NetLab} whose bridge is in the node's namespace, so
 * that the node's agent enforces on its endpoints; external hosts on the underlay. Endpoints go to the node their
 * case names ({@code node:}, modulo the node count) or round-robin in the order the case declares them.
 */
final class ClusterRuntime extends NetLabRuntime {
    /** Case labs on one cluster, with its agents; the cluster's own start removed stale labs. */
    static final class Factory implements LabRuntime.Factory {
        private final LabCluster cluster;

        Factory(LabCluster cluster) {
            this.cluster = cluster;
        }

        @Override
        public String name() {
            return "netns";
        }

        @Override
        public List<String> cleanupStale(String kind) {
            return List.of();
        }

        @Override
        public LabRuntime create(char kind) {
            return new ClusterRuntime(cluster, kind);
        }

        @Override
        public LabAgents agents(AgentClient ignored, Consumer<String> notes) {
            return new ClusterAgents(cluster, notes);
        }
    }

    private final LabCluster cluster;
    private final List<NetLab> labs = new ArrayList<>();
    private final List<NetLab.Node> externals = new ArrayList<>();
    private final Map<NetLab.Node, Integer> hostOf = new ConcurrentHashMap<>();
    private int next;

    private ClusterRuntime(LabCluster cluster, char kind) {
        super(cluster.runId());
        this.cluster = cluster;
        try {
            for (LabCluster.Member m : cluster.members()) labs.add(NetLab.create(kind, m.host().netns(), m.subnet()));
        } catch (RuntimeException e) {
            labs.forEach(NetLab::close);
            throw e;
        }
    }

    @Override
    public String endpointKind() {
        return "network namespaces on " + labs.size() + " nodes";
    }

    @Override
    public synchronized NetLab.Node addEndpoint(TestCase.Endpoint endpoint) {
        int k = (endpoint.node() != null ? endpoint.node() : next++) % labs.size();
        NetLab.Node node = labs.get(k).addEndpoint(endpoint.qualifiedName());
        hostOf.put(node, k);
        return node;
    }

    @Override
    public synchronized NetLab.Node addExternal(String name, String ip) {
        NetLab underlay = cluster.underlay();
        NetLab.Node node = underlay.addNode("external:" + name, ip);
        externals.add(node);
        // the underlay is one segment; each node's endpoints are behind that node
        for (LabCluster.Member m : cluster.members()) underlay.route(node, m.cidr(), m.host().ip());
        return node;
    }

    @Override
    public int host(NetLab.Node node) {
        Integer k = hostOf.get(node);
        if (k == null) throw new IllegalArgumentException(node.name() + " is not an endpoint of this lab");
        return k;
    }

    /** The node's lab; an external host's is the underlay. */
    @Override
    NetLab owner(NetLab.Node node) {
        Integer k = hostOf.get(node);
        return k == null ? cluster.underlay() : labs.get(k);
    }

    @Override
    public void awaitListening(Duration timeout) {
        for (NetLab l : labs) l.awaitListening(timeout);
        cluster.underlay().awaitListening(timeout);
    }

    @Override
    public String keepNote() {
        StringBuilder b = new StringBuilder("nodes " + NetLab.NETNS_PREFIX + cluster.runId() + "-* with their agents and etcd");
        for (NetLab l : labs) b.append(", namespaces ").append(NetLab.NETNS_PREFIX).append(l.runId()).append("-*");
        return b.toString();
    }

    @Override
    public void keep() {
        labs.forEach(NetLab::keep);
    }

    @Override
    public void closeOnShutdownByCaller() {
        labs.forEach(NetLab::closeOnShutdownByCaller);
    }

    @Override
    public synchronized void close() {
        labs.forEach(NetLab::close);
        for (NetLab.Node x : externals) cluster.underlay().removeNode(x);
        externals.clear();
    }
}

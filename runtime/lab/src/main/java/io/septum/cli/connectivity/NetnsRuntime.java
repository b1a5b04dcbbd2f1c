package io.septum.cli.connectivity;

import io.septum.api.policy.TestCase;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** The {@code netns} runtime: {@link NetLab} as it is, endpoints registered through the agent's netns source. */
final class NetnsRuntime implements LabRuntime {
    static final Factory FACTORY = new Factory() {
        @Override
        public String name() {
            return "netns";
        }

        @Override
        public List<String> cleanupStale(String kind) {
            return NetLab.cleanupStale(kind);
        }

        @Override
        public LabRuntime create(char kind) {
            return new NetnsRuntime(NetLab.create(kind));
        }
    };

    private final NetLab lab;

    NetnsRuntime(NetLab lab) {
        this.lab = lab;
    }

    /** The lab underneath, for callers that need more than the runtime offers. */
    NetLab lab() {
        return lab;
    }

    @Override
    public String name() {
        return "netns";
    }

    @Override
    public String runId() {
        return lab.runId();
    }

    @Override
    public String endpointKind() {
        return "network namespaces";
    }

    @Override
    public NetLab.Node addEndpoint(TestCase.Endpoint endpoint) {
        return lab.addEndpoint(endpoint.qualifiedName());
    }

    @Override
    public NetLab.Node addExternal(String name, String ip) {
        return lab.addNode("external:" + name, ip);
    }

    @Override
    public void listen(NetLab.Node node, List<NetLab.Port> ports) {
        lab.listen(node, ports);
    }

    @Override
    public void awaitListening(Duration timeout) {
        lab.awaitListening(timeout);
    }

    @Override
    public NetLab.Observation probe(NetLab.Node from, String dstIp, int port, String protocol, Duration timeout) {
        return lab.probe(from, dstIp, port, protocol, timeout);
    }

    @Override
    public NetLab.HttpReply http(NetLab.Node from, String method, String url, List<String> headers, Duration timeout) {
        return lab.http(from, method, url, headers, timeout);
    }

    @Override
    public void serveDns(NetLab.Node node, Map<String, String> records) {
        lab.serveDns(node, records);
    }

    @Override
    public NetLab.Lookup lookup(NetLab.Node from, String name, String serverIp, Duration timeout) {
        return lab.lookup(from, name, serverIp, timeout);
    }

    @Override
    public void register(AgentSession session, NetLab.Node node, TestCase.Endpoint endpoint) {
        session.register(node, endpoint.name(), endpoint.namespace(), endpoint.labels(), endpoint.namedPorts(),
                lab.runId());
    }

    @Override
    public String keepNote() {
        return "namespaces " + NetLab.NETNS_PREFIX + lab.runId() + "-*, bridge " + lab.bridge();
    }

    @Override
    public void keep() {
        lab.keep();
    }

    @Override
    public void closeOnShutdownByCaller() {
        lab.closeOnShutdownByCaller();
    }

    @Override
    public void close() {
        lab.close();
    }
}

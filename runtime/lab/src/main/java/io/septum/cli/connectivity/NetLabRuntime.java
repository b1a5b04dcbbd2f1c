package io.septum.cli.connectivity;

import io.septum.api.policy.TestCase;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * What the {@code netns} runtimes share ({@link NetnsRuntime} on one {@link NetLab}, {@link ClusterRuntime} on one
 * per node): every call about a node goes to the lab that made it, and endpoints are registered through the agent's
 * netns source under that lab's run id.
 */
abstract class NetLabRuntime implements LabRuntime {
    private final String runId;

    NetLabRuntime(String runId) {
        this.runId = runId;
    }

    /** The lab that made {@code node}. */
    abstract NetLab owner(NetLab.Node node);

    @Override
    public String name() {
        return "netns";
    }

    @Override
    public String runId() {
        return runId;
    }

    @Override
    public void listen(NetLab.Node node, List<NetLab.Port> ports) {
        owner(node).listen(node, ports);
    }

    @Override
    public NetLab.Observation probe(NetLab.Node from, String dstIp, int port, String protocol, Duration timeout) {
        return owner(from).probe(from, dstIp, port, protocol, timeout);
    }

    @Override
    public NetLab.HttpReply http(NetLab.Node from, String method, String url, List<String> headers, Duration timeout) {
        return owner(from).http(from, method, url, headers, timeout);
    }

    @Override
    public void serveDns(NetLab.Node node, Map<String, String> records) {
        owner(node).serveDns(node, records);
    }

    @Override
    public NetLab.Lookup lookup(NetLab.Node from, String name, String serverIp, Duration timeout) {
        return owner(from).lookup(from, name, serverIp, timeout);
    }

    @Override
    public void register(AgentSession session, NetLab.Node node, TestCase.Endpoint endpoint) {
        session.register(node, endpoint.name(), endpoint.namespace(), endpoint.labels(), endpoint.namedPorts(),
                owner(node).runId());
    }
}

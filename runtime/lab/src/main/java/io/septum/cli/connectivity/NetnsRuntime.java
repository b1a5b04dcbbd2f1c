package io.septum.cli.connectivity;

import io.septum.api.policy.TestCase;
import java.time.Duration;
import java.util.List;

/** The {@code netns} runtime: {@link NetLab} as it is, endpoints registered through the agent's netns source. */
final class NetnsRuntime extends NetLabRuntime {
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
        super(lab.runId());
        this.lab = lab;
    }

    @Override
    NetLab owner(NetLab.Node node) {
        return lab;
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
    public void awaitListening(Duration timeout) {
        lab.awaitListening(timeout);
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

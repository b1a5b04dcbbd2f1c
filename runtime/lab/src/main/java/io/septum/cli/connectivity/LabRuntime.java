package io.septum.cli.connectivity;

import io.septum.api.AgentStatus;
import io.septum.api.Endpoint;
import io.septum.api.policy.TestCase;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * What a connectivity test's endpoints are made of: network namespaces ({@link NetnsRuntime}, over {@link NetLab})
 * or Docker containers ({@link DockerLab}). {@link CaseRunner} builds a case on one without knowing which: it adds
 * nodes, starts listeners, has the agent manage the endpoints, probes, and closes the lab.
 *
 * <p>Nodes are {@link NetLab.Node}s whatever the runtime: {@code hostInterface} is the host-side interface the
 * datapath enforces on, which is also how the agent's endpoint is recognised.
 */
public interface LabRuntime extends AutoCloseable {
    /** {@code netns} or {@code docker}, as {@code --runtime} spells it. */
    String name();

    String runId();

    /** What an endpoint is, for progress lines: "network namespaces", "containers". */
    String endpointKind();

    /** How many {@link #addEndpoint} calls may run at once. */
    default int parallelism() {
        return 1;
    }

    /** Adds a case endpoint; its labels matter only where the runtime carries them (container labels). */
    NetLab.Node addEndpoint(TestCase.Endpoint endpoint);

    /** Which node of a multi-node lab hosts a case endpoint (0-based; always 0 with one node). */
    default int host(NetLab.Node node) {
        return 0;
    }

    /** Adds an external host (world): never an endpoint of the agent. */
    NetLab.Node addExternal(String name, String ip);

    /** Starts a TCP echo that also answers HTTP, or a UDP echo, per port. */
    void listen(NetLab.Node node, List<NetLab.Port> ports);

    void awaitListening(Duration timeout);

    /** One TCP or UDP probe (ICMP: one echo request; {@code port} is then the ICMP type) from inside {@code from}: allowed when the echo comes back in time. */
    NetLab.Observation probe(NetLab.Node from, String dstIp, int port, String protocol, Duration timeout);

    /** One HTTP request (with extra {@code "Name: value"} headers) from inside {@code from}, for runtimes that can make one. */
    default NetLab.HttpReply http(NetLab.Node from, String method, String url, List<String> headers, Duration timeout) {
        throw new LabException("--runtime " + name() + " does not make HTTP requests");
    }

    /** Runs a DNS server in {@code node} answering the names of {@code records}, for runtimes that can run one. */
    default void serveDns(NetLab.Node node, Map<String, String> records) {
        throw new LabException("--runtime " + name() + " does not run DNS servers");
    }

    /** Looks {@code name} up at {@code serverIp} from inside {@code from}, for runtimes that can. */
    default NetLab.Lookup lookup(NetLab.Node from, String name, String serverIp, Duration timeout) {
        throw new LabException("--runtime " + name() + " does not make DNS lookups");
    }

    /**
     * Makes the agent manage a case endpoint: the netns runtime registers it through the API, the docker runtime
     * only waits for the agent's docker source to report the container.
     */
    void register(AgentSession session, NetLab.Node node, TestCase.Endpoint endpoint);

    /** Checks, once every endpoint is ready, that the agent sees them as the case declares them; throws otherwise. */
    default void checkEndpoints(TestCase tc, List<AgentSession.Registered> registered, List<Endpoint> seen) {
    }

    /** What {@code --keep} leaves behind, and how it goes away. */
    String keepNote();

    /** Leaves everything in place when this process exits. */
    void keep();

    /** The caller's shutdown hook closes the lab (after the agent session), not the lab's own. */
    void closeOnShutdownByCaller();

    /** Removes everything the lab made; never throws. */
    @Override
    void close();

    /** Makes labs of one runtime; chosen with {@code --runtime}. */
    interface Factory {
        String name();

        /** Checks the agent can manage this runtime's endpoints; a message saying what to do, or null. */
        default String checkAgent(AgentStatus status) {
            return null;
        }

        /** Removes what labs of {@code kind} left when their process died; returns what it removed. */
        List<String> cleanupStale(String kind);

        /** A new empty lab; throws {@link LabException} saying what is missing (tools, engine, image). */
        LabRuntime create(char kind);

        /** The agents that manage this runtime's endpoints: by default the one {@code client} talks to. */
        default LabAgents agents(io.septum.cli.AgentClient client, java.util.function.Consumer<String> notes) {
            return new SingleAgent(client, notes);
        }
    }

    /** The default runtime: network namespaces. */
    static Factory netns() {
        return NetnsRuntime.FACTORY;
    }
}

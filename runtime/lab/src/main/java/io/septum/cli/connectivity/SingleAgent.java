package io.septum.cli.connectivity;

import io.septum.api.AgentStatus;
import io.septum.api.Endpoint;
import io.septum.api.policy.ImportResult;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.TestCase;
import io.septum.cli.AgentClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/** The running agent that {@code septum connectivity test} talks to (one node): one {@link AgentSession}. */
final class SingleAgent implements LabAgents {
    private final AgentClient client;
    private final AgentSession session;
    private final Consumer<String> notes;

    /** {@code notes} gets progress notes and what {@link #close()} could not undo. */
    SingleAgent(AgentClient client, Consumer<String> notes) {
        this.client = client;
        this.notes = notes;
        this.session = new AgentSession(client, notes);
    }

    @Override
    public AgentStatus status() {
        return session.status();
    }

    /** A policy the case would replace, then delete, belongs to someone else: refuse rather than destroy it. */
    @Override
    public String conflicts(List<PolicyInfo> parsed) {
        if (parsed.isEmpty()) return null;
        List<PolicyInfo> existing = client.list("/v1/policies", PolicyInfo.class);
        for (PolicyInfo p : parsed) {
            for (PolicyInfo e : existing) {
                if (Objects.equals(e.name(), p.name()) && Objects.equals(nz(e.namespace()), nz(p.namespace()))
                        && Objects.equals(e.kind(), p.kind())) {
                    return "the agent already holds policy " + p.qualifiedName() + " (" + p.kind() + "); the test would"
                            + " replace it and then delete it. Delete it first (septum policy delete " + p.name()
                            + (nz(p.namespace()).isEmpty() ? "" : " -n " + p.namespace()) + ") or rename it in the case";
                }
            }
        }
        if (!existing.isEmpty()) {
            notes.accept("septum: note: the agent holds " + existing.size() + " other policies; they apply to the"
                    + " test endpoints too");
        }
        return null;
    }

    @Override
    public void forgetNames(List<String> names) {
        for (String n : names) {
            try {
                client.delete("/v1/fqdn/cache?name=" + AgentClient.segment(n), java.util.Map.class);
            } catch (io.septum.cli.AgentException e) {
                if (e.status() != 503 && e.status() != 404) throw e; // no DNS proxy: nothing learned
            }
        }
    }

    @Override
    public List<String> removeLeftovers() {
        return AgentSession.removeLeftovers(client, "c");
    }

    @Override
    public void setNamespaceLabels(String namespace, Map<String, String> labels) {
        session.setNamespaceLabels(namespace, labels);
    }

    @Override
    public void register(LabRuntime lab, NetLab.Node node, TestCase.Endpoint endpoint) {
        lab.register(session, node, endpoint);
    }

    @Override
    public List<AgentSession.Registered> registered() {
        return session.registered();
    }

    @Override
    public List<Endpoint> awaitReady(Duration timeout) {
        return session.awaitReady(timeout);
    }

    @Override
    public long enforce(String origin, String yaml, List<PolicyInfo> parsed, Duration timeout) {
        long rev;
        if (yaml.isBlank()) {
            rev = session.status().policyRevision();
        } else {
            ImportResult r = session.importPolicies(origin, yaml, parsed);
            rev = r.revision();
        }
        session.awaitRevision(rev, timeout);
        return rev;
    }

    @Override
    public void close() {
        session.close();
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }
}

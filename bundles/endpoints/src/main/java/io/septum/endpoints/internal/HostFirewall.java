package io.septum.endpoints.internal;

import io.septum.api.Identity;
import io.septum.api.Label;
import io.septum.api.Labels;
import io.septum.api.NamedPort;
import io.septum.api.ReservedIdentity;
import io.septum.api.datapath.BpfEndpoint;
import io.septum.api.datapath.Datapath;
import io.septum.api.datapath.DatapathEndpoint;
import io.septum.api.datapath.DatapathException;
import io.septum.api.datapath.FailsafePort;
import io.septum.api.policy.EndpointPolicy;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicyEntry;
import io.septum.api.policy.PolicySet;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The host endpoint: the host itself, enforced on its own interfaces (the host firewall), as Cilium's host firewall
 * does. Its labels are {@code reserved:host} and the node's labels, so host policies (a CCNP rule with a
 * {@code nodeSelector}) select it and endpoint policies never do; its identity is the reserved {@code host}. Each
 * configured interface is one datapath endpoint with an id of its own from the top of the id range (the endpoint
 * table stops below it), with the same policy. The failsafe ports are pushed before any enforcement, so that a host
 * policy never cuts the operator off. Used by the regeneration thread only.
 */
final class HostFirewall {
    private static final Logger LOG = Logger.getLogger(HostFirewall.class.getName());
    /** The first id of the host's interfaces; {@link EndpointTable#MAX_ID} is just below. */
    static final long FIRST_ID = EndpointTable.MAX_ID + 1;
    static final long LAST_ID = 65535;

    /**
     * What the operator configured.
     *
     * @param interfaces  the host's interfaces to enforce on (none: no host firewall)
     * @param nodeLabels  the node's labels, which nodeSelectors match
     * @param failsafe    ports the host's own traffic may always use
     */
    record Settings(List<String> interfaces, Map<String, String> nodeLabels, List<FailsafePort> failsafe) {
        static final Settings OFF = new Settings(List.of(), Map.of(), List.of());

        Settings {
            interfaces = List.copyOf(interfaces);
            nodeLabels = Map.copyOf(nodeLabels);
            failsafe = List.copyOf(failsafe);
        }

        /** The host endpoint's labels. */
        Labels labels() {
            List<Label> out = new ArrayList<>();
            out.add(Label.reserved(ReservedIdentity.HOST.labelName()));
            new TreeMap<>(nodeLabels).forEach((k, v) -> out.add(new Label(Label.K8S, k, v)));
            return Labels.of(out);
        }
    }

    private record Pushed(DatapathEndpoint endpoint, List<PolicyEntry> entries) {
    }

    private final Datapath datapath;
    private final HostEnv host;
    /** Interface name to its endpoint id: configured ones, and what a previous agent left until it is removed. */
    private final Map<String, Long> ids = new HashMap<>();
    private final Map<Long, Pushed> pushed = new HashMap<>();
    private List<FailsafePort> pushedFailsafe;
    private volatile String error;
    private volatile String summary;

    HostFirewall(Datapath datapath, HostEnv host) {
        this.datapath = datapath;
        this.host = host;
    }

    /** Whether a pinned entry is a host interface's (the endpoint table must not take it for an orphan). */
    static boolean isHost(BpfEndpoint b) {
        return (b.flags() & BpfEndpoint.FLAG_HOST) != 0;
    }

    /** Takes the host interfaces a previous agent left enforcing: kept until a pass says whether they stay. */
    void restored(List<BpfEndpoint> restored) {
        for (BpfEndpoint b : restored) {
            if (!isHost(b)) continue;
            String name = b.interfaceName() == null || b.interfaceName().isEmpty() ? "ifindex " + b.ifindex()
                    : b.interfaceName();
            ids.put(name, b.endpointId());
        }
    }

    /** Why the last push failed, or null. */
    String error() {
        return error;
    }

    /**
     * Brings the host firewall in line with {@code s} and the policies: failsafe ports first, then each configured
     * interface's program and entries (written only when they changed), then the removal of interfaces no longer
     * configured. Returns true when something failed and a later pass must try again.
     */
    boolean push(Settings s, PolicySet set, EnforcementMode mode, List<Identity> universe,
                 Map<Long, List<NamedPort>> peerPorts, List<String> hostAddresses, Set<Long> endpointIds) {
        List<String> problems = new ArrayList<>();
        if (s.interfaces().isEmpty() && ids.isEmpty()) {
            error = null;
            summary = null;
            return false; // no host firewall, now or left by a previous agent
        }
        if (!s.interfaces().isEmpty() && hostAddresses.isEmpty()) {
            // the programs judge what the ipcache gives the host identity: without addresses they would judge nothing
            error = "host firewall: cannot list the host's addresses; the host interfaces keep their last state";
            LOG.warning(error);
            return true;
        }
        if (!s.failsafe().equals(pushedFailsafe)) {
            try {
                datapath.setFailsafePorts(s.failsafe());
                pushedFailsafe = s.failsafe();
            } catch (DatapathException | RuntimeException e) {
                // without the failsafe ports nothing is enforced on the host: an operator must never be locked out
                error = "host firewall: cannot write the failsafe ports (" + e.getMessage() + "); host policies are"
                        + " not enforced";
                LOG.log(Level.WARNING, error, e);
                return true;
            }
        }
        EndpointPolicy policy = null;
        if (!s.interfaces().isEmpty()) {
            try {
                policy = set.resolve(s.labels(), List.of(), universe, peerPorts, mode);
            } catch (RuntimeException e) {
                error = "host firewall: cannot resolve the host's policy: " + e.getMessage();
                LOG.log(Level.WARNING, error, e);
                return true;
            }
        }
        List<Long> keep = new ArrayList<>();
        for (String name : s.interfaces()) {
            long id = idOf(name, endpointIds);
            if (id < 0) {
                problems.add(name + ": no endpoint id left for another host interface");
                continue;
            }
            keep.add(id);
            int ifindex;
            try {
                ifindex = host.ifindex(name);
            } catch (IOException e) {
                problems.add(e.getMessage());
                continue;
            }
            DatapathEndpoint dpe = new DatapathEndpoint(id, ReservedIdentity.HOST.id(), name, ifindex, hostAddresses,
                    policy.ingressEnforced(), policy.egressEnforced(), false, null, true);
            Pushed next = new Pushed(dpe, policy.entries());
            if (next.equals(pushed.get(id))) continue;
            try {
                datapath.upsertEndpoint(dpe, policy.entries());
                pushed.put(id, next);
            } catch (DatapathException | RuntimeException e) {
                problems.add(name + ": the datapath refused the update (kept the previous state): " + e.getMessage());
                LOG.log(Level.WARNING, "host interface " + name + ": datapath update failed", e);
            }
        }
        for (Map.Entry<String, Long> e : new ArrayList<>(ids.entrySet())) {
            if (keep.contains(e.getValue())) continue;
            try {
                datapath.removeEndpoint(e.getValue());
                ids.remove(e.getKey());
                pushed.remove(e.getValue());
            } catch (DatapathException | RuntimeException ex) {
                problems.add(e.getKey() + ": cannot remove the host firewall from it: " + ex.getMessage());
            }
        }
        summary = ids.isEmpty() ? null : "host firewall on " + String.join(", ", new TreeMap<>(ids).keySet());
        error = problems.isEmpty() ? null : "host firewall: " + String.join("; ", problems);
        if (error != null) LOG.warning(error);
        return !problems.isEmpty();
    }

    /** What {@code septum status} says of it: null when there is no host firewall. */
    String summary() {
        return summary;
    }

    /**
     * The interface's id: the one it has, else the lowest free one of the range that no endpoint has (an endpoint
     * persisted by an older agent, which handed out ids up to 65535, keeps its id); -1 when the range is full.
     */
    private long idOf(String name, Set<Long> endpointIds) {
        Long had = ids.get(name);
        if (had != null) return had;
        for (long id = FIRST_ID; id <= LAST_ID; id++) {
            if (!ids.containsValue(id) && !endpointIds.contains(id)) {
                ids.put(name, id);
                return id;
            }
        }
        return -1;
    }
}

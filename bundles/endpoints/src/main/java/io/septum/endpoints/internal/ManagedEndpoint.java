package io.septum.endpoints.internal;

import io.septum.api.Endpoint;
import io.septum.api.EndpointSpec;
import io.septum.api.EndpointState;
import io.septum.api.Identity;
import io.septum.api.Label;
import io.septum.api.Labels;
import io.septum.api.NamedPort;
import io.septum.api.datapath.BpfEndpoint;
import io.septum.api.datapath.DatapathEndpoint;
import io.septum.api.policy.PolicyEntry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** One managed endpoint: what its source said, what the manager derived, what was pushed. Mutable, guarded by the
 * endpoint manager's lock. */
final class ManagedEndpoint {
    final long id;
    final String source;
    final String sourceId;
    String name;
    String namespace;
    String interfaceName;
    String netns;
    /** The cgroup v2 directory a cgroup endpoint is enforced on (instead of an interface), else null. */
    String cgroupPath;
    List<String> addresses = List.of();
    Map<String, String> externalIds = Map.of();
    /** The source's raw labels, kept to rebuild the label set when the namespace's labels change. */
    EndpointSpec spec;
    Labels labels = Labels.EMPTY;
    List<String> labelProblems = List.of();
    String refusal;
    Identity identity;
    /** Whether this manager holds an allocator reference on {@link #identity}. */
    boolean holdsRef;
    boolean needsIdentity = true;
    EndpointState state = EndpointState.WAITING_FOR_IDENTITY;
    String error;
    long revision;
    int ifindex;
    /** Restored from a previous agent and not yet reported by its source: its datapath state is left alone. */
    boolean restoredPending;
    /** When a disconnected endpoint's datapath state is removed; 0 when connected. */
    long removeAt;
    /** Bumped on every change, so a pass knows whether what it pushed is still what the endpoint is. */
    long generation;
    DatapathEndpoint pushedEndpoint;
    List<PolicyEntry> pushedEntries;
    /** The policy last resolved for what was pushed, and from what (a pass with the same inputs reuses it). */
    DatapathWriter.Resolved resolved;
    /** Per-endpoint audit mode, set by the operator and persisted. */
    boolean audit;

    ManagedEndpoint(long id, String source, String sourceId) {
        this.id = id;
        this.source = source;
        this.sourceId = sourceId;
    }

    /**
     * An endpoint a previous agent persisted, disconnected until its source reports it again; {@code enforcing} is
     * its entry in the pinned maps (null: not enforcing), {@code identity} that entry's identity.
     */
    static ManagedEndpoint restored(EndpointStore.Stored s, long removeAt, BpfEndpoint enforcing, Identity identity) {
        ManagedEndpoint ep = new ManagedEndpoint(s.id(), s.source(), s.sourceId());
        ep.name = s.name();
        ep.namespace = s.namespace();
        ep.interfaceName = s.interfaceName();
        ep.netns = s.netns();
        ep.cgroupPath = s.cgroupPath();
        ep.addresses = s.addresses() == null ? List.of() : List.copyOf(s.addresses());
        ep.externalIds = s.externalIds() == null ? Map.of() : Map.copyOf(s.externalIds());
        ep.audit = s.audit();
        ep.labels = Labels.parse(s.labels() == null ? List.of() : s.labels(), Label.ANY);
        ep.state = EndpointState.DISCONNECTED;
        ep.removeAt = removeAt;
        ep.restoredPending = enforcing != null;
        if (enforcing != null) {
            ep.identity = identity;
            ep.ifindex = enforcing.ifindex();
            ep.error = "restored from the previous agent; waiting for source " + s.source() + " to report it";
        } else {
            ep.error = "persisted by the previous agent but not enforcing; waiting for source " + s.source();
        }
        return ep;
    }

    /** What endpoints.json keeps of it. */
    EndpointStore.Stored stored() {
        return new EndpointStore.Stored(id, source, sourceId, name, namespace, labels.asStrings(), interfaceName, netns,
                addresses, identity == null ? 0 : identity.id(), externalIds, cgroupPath, audit);
    }

    /** The named ports its source declares; none before the source reports it. */
    List<NamedPort> namedPorts() {
        return spec == null ? List.of() : spec.ports();
    }

    /** The model every front end prints. */
    Endpoint view() {
        List<String> msgs = new ArrayList<>();
        if (refusal != null) msgs.add(refusal);
        if (error != null) msgs.add(error);
        msgs.addAll(labelProblems);
        boolean ingress = pushedEndpoint != null && pushedEndpoint.ingressEnforced();
        boolean egress = pushedEndpoint != null && pushedEndpoint.egressEnforced();
        return new Endpoint(id, name, namespace, source, labels.asStrings(), identity == null ? 0 : identity.id(), state,
                addresses, interfaceName, ifindex, netns, ingress, egress, externalIds, revision,
                msgs.isEmpty() ? null : String.join("; ", msgs), audit, namedPorts());
    }
}

package io.septum.api.policy;

import io.septum.api.Identity;
import io.septum.api.Labels;
import io.septum.api.NamedPort;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * An immutable set of parsed policies, and the semantics that apply them. Obtained from {@link PolicyEngine}.
 *
 * <p>Peers are described by labels. An endpoint carries its own labels plus the agent-set namespace label; a
 * host outside the cluster is described as {@code cidr:<ip>/32} plus {@code reserved:world}; the host as
 * {@code reserved:host}. A CIDR identity pushed to the ipcache carries {@code cidr:<prefix>} and
 * {@code reserved:world}.
 */
@ProviderType
public interface PolicySet {
    List<PolicyInfo> policies();

    /** This set with every policy of {@code newer} added, replacing those of the same kind, namespace and name. */
    PolicySet merge(PolicySet newer, long revision);

    /** This set without the named policy; empty when no such policy exists. */
    Optional<PolicySet> without(String namespace, String name);

    /** The entries that enforce this set for an endpoint with {@code subject} labels. */
    EndpointPolicy resolve(Labels subject, Collection<Identity> universe, EnforcementMode mode);

    /**
     * {@link #resolve(Labels, Collection, EnforcementMode)} with named ports: a rule that names a port
     * ({@code port: http}) resolves it on each destination, the subject's own {@code subjectPorts} for ingress
     * and, for egress, the named ports of each peer identity ({@code peerPorts}, by identity number), so one name
     * may give different numbers for different peers. A name a destination does not declare (for the rule's
     * protocol) matches nothing there. Without this method, named-port rules match nothing.
     *
     * @since 1.5
     */
    default EndpointPolicy resolve(Labels subject, List<NamedPort> subjectPorts, Collection<Identity> universe,
                                   Map<Long, List<NamedPort>> peerPorts, EnforcementMode mode) {
        return resolve(subject, universe, mode);
    }

    /** Would traffic in {@code direction} between {@code subject} and {@code peer} on port/protocol pass? */
    Decision decide(Direction direction, Labels subject, Labels peer, int port, Protocol protocol, EnforcementMode mode);

    /**
     * {@link #decide(Direction, Labels, Labels, int, Protocol, EnforcementMode)} where rules that name a port
     * resolve it on the destination's {@code destinationPorts}: the subject's for ingress, the peer's for egress.
     *
     * @since 1.5
     */
    default Decision decide(Direction direction, Labels subject, Labels peer, List<NamedPort> destinationPorts,
                            int port, Protocol protocol, EnforcementMode mode) {
        return decide(direction, subject, peer, port, protocol, mode);
    }

    /** Every CIDR prefix that policies name ({@code cidr} and {@code except}); the ipcache gives each an identity. */
    List<String> cidrPrefixes();

    Optional<RuleRef> rule(int id);

    /** Egress at the source, then ingress at the destination, with an explanation of each step. */
    TraceResult trace(Labels source, Labels destination, int port, Protocol protocol, EnforcementMode mode);

    /**
     * {@link #trace} for one HTTP request over TCP: where an L7 rule governs a side, that side's decision is the
     * HTTP verdict ({@link HttpPolicy#decide}) and the explanation says which HTTP rule matched, or that none did.
     * A null {@code request} is the plain trace.
     *
     * @since 1.2
     */
    default TraceResult trace(Labels source, Labels destination, int port, Protocol protocol, EnforcementMode mode,
                              HttpRequestInfo request) {
        return trace(source, destination, port, protocol, mode);
    }

    /**
     * {@link #trace(Labels, Labels, int, Protocol, EnforcementMode, HttpRequestInfo)} where rules that name a port
     * ({@code port: http}) resolve it on the destination's {@code destinationPorts}, as the datapath does for that
     * destination (both directions' rules name the destination's ports). Without it, named-port rules match nothing.
     *
     * @since 1.6
     */
    default TraceResult trace(Labels source, Labels destination, List<NamedPort> destinationPorts, int port,
                              Protocol protocol, EnforcementMode mode, HttpRequestInfo request) {
        return trace(source, destination, port, protocol, mode, request);
    }

    /**
     * The HTTP rules that govern traffic in {@code direction} between {@code subject} (the endpoint whose policy
     * applies) and {@code peer} on TCP {@code port}; empty when no L7 rule governs that path, in which case L3/L4
     * policy alone decides ({@link #decide}).
     */
    default Optional<HttpPolicy> httpPolicy(Direction direction, Labels subject, Labels peer, int port,
                                            EnforcementMode mode) {
        return Optional.empty();
    }

    /**
     * The DNS rules that govern queries in {@code direction} from {@code subject} to {@code peer} on UDP
     * {@code port}; empty when no DNS rule governs that path (the query is then not proxied, L3/L4 alone decides,
     * and its answers teach {@code toFQDNs} nothing). A set without DNS rules has none. Since 1.7.
     */
    default Optional<DnsPolicy> dnsPolicy(Direction direction, Labels subject, Labels peer, int port,
                                          EnforcementMode mode) {
        return Optional.empty();
    }

    /**
     * {@link #httpPolicy} on a destination that declares {@code destinationPorts}: a rule that names a port covers
     * {@code port} when the name resolves to it there (Kubernetes' meaning). Since 1.7.
     */
    default Optional<HttpPolicy> httpPolicy(Direction direction, Labels subject, Labels peer,
                                            List<NamedPort> destinationPorts, int port, EnforcementMode mode) {
        return httpPolicy(direction, subject, peer, port, mode);
    }

    /** {@link #dnsPolicy} on a destination that declares {@code destinationPorts}. Since 1.7. */
    default Optional<DnsPolicy> dnsPolicy(Direction direction, Labels subject, Labels peer,
                                          List<NamedPort> destinationPorts, int port, EnforcementMode mode) {
        return dnsPolicy(direction, subject, peer, port, mode);
    }
}

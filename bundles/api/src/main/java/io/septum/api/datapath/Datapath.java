package io.septum.api.datapath;

import io.septum.api.IpcacheEntry;
import io.septum.api.policy.PolicyEntry;
import io.septum.api.service.Service;
import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The kernel datapath. Every call moves the kernel from one consistent state to the next, never through a state
 * more permissive than both; a failing call leaves the last good state and throws.
 */
@ProviderType
public interface Datapath {
    /**
     * Attaches (or atomically replaces) the programs on the endpoint's interface, and makes its policy entries
     * exactly {@code entries}: new entries and changed flags are written before stale entries are removed, and
     * denies are written before allows.
     */
    void upsertEndpoint(DatapathEndpoint endpoint, List<PolicyEntry> entries) throws DatapathException;

    /** Removes the endpoint's programs and state. */
    void removeEndpoint(long endpointId) throws DatapathException;

    /** Makes the ipcache exactly {@code entries} (adds and changes first, removals last). */
    void syncIpcache(List<IpcacheEntry> entries) throws DatapathException;

    /**
     * Makes the ipcache exactly {@code entries}, which differ from those of the last successful sync by
     * {@code upserted} (added or changed entries) and {@code removed} (prefixes no longer present): a datapath that
     * knows what it last wrote writes only those (adds and changes first, removals last) instead of going over every
     * entry. The caller gives the changes against what it last synced successfully; after a failed sync it may give
     * the same changes again. The default syncs {@code entries}.
     *
     * @since 1.3
     */
    default void syncIpcacheChanges(List<IpcacheEntry> entries, List<IpcacheEntry> upserted, List<String> removed)
            throws DatapathException {
        syncIpcache(entries);
    }

    /** Endpoints found in the pinned maps at start: what a previous agent left enforcing. */
    List<BpfEndpoint> restored();

    List<BpfEndpoint> endpoints();

    List<BpfPolicyEntry> policy(long endpointId);

    List<IpcacheEntry> ipcache();

    DatapathStats stats();

    /**
     * Makes the load-balancer maps exactly {@code services}: each frontend with its active backends (inactive ones
     * are left out; a service without any rejects new connections). New backends are written before the slots that
     * point at them, and removed backends are deleted last, so a connection never picks a half-written backend.
     */
    void syncServices(List<Service> services) throws DatapathException;

    /** What the load-balancer maps hold, as services (names as last synced). */
    List<Service> services();

    /**
     * SO_MARK of the L7 proxy's upstream sockets. {@code septum_to_ep} lets packets with this mark into an
     * endpoint without the ingress policy check (the proxy judged the request already; only root can set marks).
     */
    int PROXY_UPSTREAM_MARK = 0x5e970002;

    /**
     * Where {@code septum_from_ep} hands connections whose policy entry is REDIRECT: the TCP port of the transparent
     * proxy's listener in the host network namespace, 0 when there is none (redirected connections are then dropped,
     * fail closed). Also installs the policy routing that delivers redirected packets locally.
     */
    default void setProxyPort(int port) throws DatapathException {
        throw new DatapathException("this datapath cannot redirect to an L7 proxy");
    }

    /**
     * Where {@code septum_from_ep} hands the UDP queries that DNS rules govern: the UDP port of the DNS proxy's
     * transparent socket in the host network namespace, 0 when there is none (those queries are then dropped, fail
     * closed). Also installs the policy routing that delivers redirected packets locally. Since 1.4.
     */
    default void setDnsProxyPort(int port) throws DatapathException {
        throw new DatapathException("this datapath cannot redirect to a DNS proxy");
    }

    /**
     * Makes the host firewall's failsafe ports exactly {@code ports}: the host's own traffic to one of them (in the
     * given direction) passes on the host's interfaces whatever host policy says. Since 1.5.
     */
    default void setFailsafePorts(List<FailsafePort> ports) throws DatapathException {
        if (!ports.isEmpty()) throw new DatapathException("this datapath has no host firewall");
    }

    /** Every non-zero rule counter of every endpoint, summed over CPUs. */
    default List<RuleHits> ruleHits() {
        return List.of();
    }
}

package io.septum.api.datapath;

import io.septum.api.IpcacheEntry;
import io.septum.api.policy.PolicyEntry;
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

    /** Endpoints found in the pinned maps at start: what a previous agent left enforcing. */
    List<BpfEndpoint> restored();

    List<BpfEndpoint> endpoints();

    List<BpfPolicyEntry> policy(long endpointId);

    List<IpcacheEntry> ipcache();

    DatapathStats stats();

    /** Every non-zero rule counter of every endpoint, summed over CPUs. */
    default List<RuleHits> ruleHits() {
        return List.of();
    }
}

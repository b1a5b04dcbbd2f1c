package io.septum.endpoints.internal;

import io.septum.api.EndpointState;
import io.septum.api.Identity;
import io.septum.api.IpcacheEntry;
import io.septum.api.NamedPort;
import io.septum.api.ReservedIdentity;
import io.septum.api.datapath.Datapath;
import io.septum.api.datapath.DatapathEndpoint;
import io.septum.api.datapath.DatapathException;
import io.septum.api.policy.EndpointPolicy;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicySet;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * What a reconciliation pass writes to the datapath: the ipcache, each endpoint's program and policy (resolved here,
 * and pushed only when it differs from what was pushed last), and the removal of endpoints that are gone. Called on
 * the regeneration thread only, so the datapath sees writes in the order of the passes; the datapath calls are made
 * without the manager's lock, which is taken only to read and update the endpoints' fields. What it remembers
 * (the last ipcache pushed, removal attempts) is the regeneration thread's; the ipcache error is guarded by the lock.
 */
final class DatapathWriter {
    private static final Logger LOG = Logger.getLogger(DatapathWriter.class.getName());
    private static final int MAX_REMOVE_ATTEMPTS = 5;

    /** What policies are resolved with in one pass: the repository's set, and the identities and ports of peers. */
    record PolicyInputs(PolicySet policySet, EnforcementMode mode, long revision, List<Identity> universe,
                        Map<Long, List<NamedPort>> peerPorts) {
    }

    /**
     * An endpoint's policy as resolved from its labels, its named ports and a pass's inputs. Resolving is a function
     * of these alone, so a pass whose inputs are those of the last push (the common case when only other nodes'
     * entries changed: the identities and the peers' ports stay the same) reuses it instead of resolving every
     * endpoint's policy again.
     */
    record Resolved(io.septum.api.Labels labels, List<NamedPort> ports, PolicyInputs in, EndpointPolicy policy) {
        boolean matches(EndpointWork w, PolicyInputs next) {
            return in.policySet() == next.policySet() && in.revision() == next.revision() && in.mode() == next.mode()
                    && labels.equals(w.labels()) && ports.equals(w.ports()) && in.universe().equals(next.universe())
                    && in.peerPorts().equals(next.peerPorts());
        }
    }

    /** Of a batch of pushes: whether one failed, and how many endpoints were written. */
    record Pushed(boolean failed, int count) {
    }

    private final Object lock;
    private final EndpointTable table;
    private final Datapath datapath;
    private final HostEnv host;
    private List<IpcacheEntry> pushedIpcache;
    private final Map<Long, Integer> removeAttempts = new HashMap<>();
    /** Guarded by the lock. */
    private String ipcacheError;

    DatapathWriter(Object lock, EndpointTable table, Datapath datapath, HostEnv host) {
        this.lock = lock;
        this.table = table;
        this.datapath = datapath;
        this.host = host;
    }

    /**
     * Looks up the endpoint's interface index (0 for a cgroup endpoint); false, with the error noted, if it cannot.
     * The caller holds the lock.
     */
    boolean attachable(ManagedEndpoint ep) {
        if (ep.interfaceName == null) {
            ep.ifindex = 0;
            return true;
        }
        try {
            ep.ifindex = host.ifindex(ep.interfaceName);
            return true;
        } catch (IOException e) {
            ep.error = e.getMessage();
            return false;
        }
    }

    /**
     * Pushes the ipcache if it changed, as the changes from the last one pushed when both are sorted (as passes build
     * them); false if the datapath refused it (the error is kept for the status, and the next pass gives the changes
     * from the last ipcache pushed again).
     */
    boolean syncIpcache(List<IpcacheEntry> cache) {
        if (cache == pushedIpcache) return true;
        IpcacheDiff diff = pushedIpcache == null ? null : IpcacheDiff.of(pushedIpcache, cache);
        if (diff != null ? diff.isEmpty() : cache.equals(pushedIpcache)) return true;
        try {
            if (diff == null) datapath.syncIpcache(cache);
            else datapath.syncIpcacheChanges(cache, diff.upserted(), diff.removed());
            pushedIpcache = cache;
            synchronized (lock) {
                ipcacheError = null;
            }
            return true;
        } catch (DatapathException | RuntimeException e) {
            synchronized (lock) {
                ipcacheError = "ipcache sync failed: " + e.getMessage();
            }
            LOG.log(Level.WARNING, "ipcache sync failed; endpoints keep their previous policy until it succeeds", e);
            return false;
        }
    }

    /** Why the last ipcache sync failed, null when it did not; the caller holds the lock. */
    String ipcacheError() {
        return ipcacheError;
    }

    /** Pushes each endpoint whose policy or attachment changed. */
    Pushed push(List<EndpointWork> work, PolicyInputs in) {
        boolean failed = false;
        int count = 0;
        for (EndpointWork w : work) {
            switch (push(w, in)) {
                case FAILED -> failed = true;
                case WRITTEN -> count++;
                case UNCHANGED -> { }
            }
        }
        return new Pushed(failed, count);
    }

    private enum Outcome { UNCHANGED, WRITTEN, FAILED }

    private Outcome push(EndpointWork w, PolicyInputs in) {
        ManagedEndpoint ep = w.ep();
        DatapathEndpoint dpe;
        EndpointPolicy policy;
        Resolved last;
        synchronized (lock) {
            if (ep.generation != w.generation() || !table.containsId(ep.id)) return Outcome.UNCHANGED;
            last = ep.resolved;
        }
        try {
            policy = last != null && last.matches(w, in) ? last.policy()
                    : in.policySet().resolve(w.labels(), w.ports(), in.universe(), in.peerPorts(), in.mode());
        } catch (RuntimeException e) {
            synchronized (lock) {
                ep.error = "cannot resolve policy: " + e.getMessage();
            }
            LOG.log(Level.WARNING, "cannot resolve the policy of endpoint " + ep.id, e);
            return Outcome.FAILED;
        }
        synchronized (lock) {
            // Changed while the policy was resolved: the pass that change asked for pushes the new state.
            if (ep.generation != w.generation() || (ep.identity == null) != w.init()) return Outcome.UNCHANGED;
            dpe = w.init()
                    ? new DatapathEndpoint(ep.id, ReservedIdentity.INIT.id(), ep.interfaceName, ep.ifindex, ep.addresses,
                            true, true, ep.audit, ep.cgroupPath)
                    : new DatapathEndpoint(ep.id, ep.identity.id(), ep.interfaceName, ep.ifindex, ep.addresses,
                            policy.ingressEnforced(), policy.egressEnforced(), ep.audit, ep.cgroupPath);
        }
        boolean same = dpe.equals(ep.pushedEndpoint) && policy.entries().equals(ep.pushedEntries);
        if (!same) {
            try {
                datapath.upsertEndpoint(dpe, policy.entries());
            } catch (DatapathException | RuntimeException e) {
                synchronized (lock) {
                    // The datapath kept the last good state; so do we.
                    ep.error = "datapath refused the update (kept the previous state, retrying): " + e.getMessage();
                }
                LOG.log(Level.WARNING, "endpoint " + ep.id + ": datapath update failed", e);
                return Outcome.FAILED;
            }
        }
        Outcome written = same ? Outcome.UNCHANGED : Outcome.WRITTEN;
        synchronized (lock) {
            ep.pushedEndpoint = dpe;
            ep.pushedEntries = policy.entries();
            ep.resolved = new Resolved(w.labels(), w.ports(), in, policy);
            if (w.init()) return written; // still waiting for its identity
            if (ep.generation == w.generation() && ep.state != EndpointState.DISCONNECTED) {
                ep.state = EndpointState.READY;
                ep.error = null;
                ep.revision = in.revision();
            }
        }
        return written;
    }

    /** Removes the endpoints {@code ids} from the datapath; returns whether one must be tried again. */
    boolean remove(List<Long> ids) {
        boolean retry = false;
        for (long id : ids) {
            try {
                datapath.removeEndpoint(id);
                synchronized (lock) {
                    table.removed(id);
                }
                removeAttempts.remove(id);
            } catch (DatapathException | RuntimeException e) {
                int n = removeAttempts.merge(id, 1, Integer::sum);
                if (n >= MAX_REMOVE_ATTEMPTS) {
                    LOG.log(Level.SEVERE, "giving up removing endpoint " + id + " from the datapath after " + n
                            + " attempts; remove it by hand (bpf endpoint list)", e);
                    synchronized (lock) {
                        table.removed(id);
                    }
                    removeAttempts.remove(id);
                } else {
                    LOG.log(Level.WARNING, "cannot remove endpoint " + id + " from the datapath; retrying", e);
                    retry = true;
                }
            }
        }
        return retry;
    }
}

package io.septum.endpoints.internal;

import io.septum.api.Identity;
import io.septum.api.IdentityAllocator;
import io.septum.api.IpcacheEntry;
import io.septum.api.NamedPort;
import io.septum.api.RemoteEndpoint;
import io.septum.api.ReservedIdentity;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.policy.PolicySet;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * The reconciliation pass: brings the datapath in line with the endpoint table, the policies and the cluster. One
 * pass expires what is gone, gets identities (the init identity's program first for an endpoint that has none),
 * assembles the ipcache and the identities selectors resolve against, saves endpoints.json, and then, when the start
 * gate lets it, pushes the ipcache and every endpoint whose policy or attachment changed, and removes what is gone.
 * Passes run on the manager's regeneration thread, one at a time; the endpoint state they read and write is guarded
 * by the manager's lock, which is never held across an allocator, store or datapath call. The ipcache, the universe
 * and the peers' ports of the last pass are kept (guarded by the lock) for the listeners and for the next pass's init
 * programs.
 */
final class Reconciler {
    /** What a pass leaves the manager to do: signal readiness once it could push, and ask for another pass. */
    record Result(boolean pushed, boolean retry) {
    }

    private final Object lock;
    private final EndpointTable table;
    private final IdentityAllocator identities;
    private final IdentityAssigner assigner;
    private final RemoteEndpointView remote;
    private final RemoteIpcache remoteIpcache = new RemoteIpcache();
    private final StartGate gate;
    private final DatapathWriter writer;
    private final HostFirewall hostFirewall;
    private final PolicyRepository policies;
    private final HostEnv host;
    private final EndpointStore store;
    private final Realization realization;
    private final Supplier<DefaultEndpointManager.Settings> settings;
    private final Supplier<Map<String, Set<String>>> fqdnNames;
    /** Told the named ports of a pass before the datapath gets them (the endpoint index publishes them first). */
    private final java.util.function.Consumer<Map<Long, List<NamedPort>>> portsAhead;

    /** Guarded by the lock. */
    private List<IpcacheEntry> ipcache = List.of();
    /** The identities the last pass resolved selectors against; guarded by the lock. */
    private List<Identity> lastUniverse = Arrays.stream(ReservedIdentity.values()).map(ReservedIdentity::identity).toList();
    /** The named ports by identity of the last pass, for the same programs; guarded by the lock. */
    private Map<Long, List<NamedPort>> lastPeerPorts = Map.of();
    /** Why endpoints.json could not be written, null when the last save worked; guarded by the lock. */
    private String saveError;

    Reconciler(Object lock, EndpointTable table, IdentityAllocator identities, RemoteEndpointView remote, StartGate gate,
               DatapathWriter writer, HostFirewall hostFirewall, PolicyRepository policies, HostEnv host, EndpointStore store,
               Realization realization, Supplier<DefaultEndpointManager.Settings> settings,
               Supplier<Map<String, Set<String>>> fqdnNames,
               java.util.function.Consumer<Map<Long, List<NamedPort>>> portsAhead) {
        this.fqdnNames = fqdnNames;
        this.portsAhead = portsAhead;
        this.lock = lock;
        this.table = table;
        this.identities = identities;
        this.assigner = new IdentityAssigner(identities);
        this.remote = remote;
        this.gate = gate;
        this.writer = writer;
        this.hostFirewall = hostFirewall;
        this.policies = policies;
        this.host = host;
        this.store = store;
        this.realization = realization;
        this.settings = settings;
    }

    /** The ipcache of the last pass; the caller holds the lock. */
    List<IpcacheEntry> ipcache() {
        return ipcache;
    }

    /** The named ports of each identity as the last pass resolved egress rules with; the caller holds the lock. */
    Map<Long, List<NamedPort>> peerPorts() {
        return lastPeerPorts;
    }

    /** The host endpoint (the host firewall). */
    HostFirewall hostFirewall() {
        return hostFirewall;
    }

    /** The caller holds the lock. */
    String saveError() {
        return saveError;
    }

    /** Runs one pass at {@code now}; null when the manager closed meanwhile. */
    Result pass(long now) {
        boolean retry = false;
        // Read the revision before the set, so the revision recorded is never newer than what is realised.
        long revision = policies.revision();
        PolicySet policySet = policies.current();
        EnforcementMode mode = policies.mode();
        List<String> prefixes = policySet.cidrPrefixes();
        Map<String, Set<String>> learned = fqdnNames.get();
        List<String> hostAddresses = host.hostAddresses();
        // Read before the list: a listing that completes in between is then taken whole by the next pass.
        boolean synced = remote.synced();
        remote.update(identities, remoteIpcache);
        DefaultEndpointManager.Settings s = settings.get();
        boolean push = gate.passes(now, s.clusterName(), s.initialSyncTimeout(), synced && !remote.labelsMissing());
        List<Long> removals;
        IdentityAssigner.Round round;
        List<Identity> knownUniverse;
        Map<Long, List<NamedPort>> knownPorts;
        synchronized (lock) {
            if (table.closed()) return null;
            // 1. Expired disconnected endpoints and orphans go.
            table.expire(now);
            removals = table.toRemove();
            // 2. What needs an identity; allocation happens outside the lock, as an allocator may be slow.
            round = assigner.gather(table, prefixes, learned, writer::attachable);
            knownUniverse = lastUniverse;
            knownPorts = lastPeerPorts;
        }
        retry |= writer.push(round.initWork(),
                new DatapathWriter.PolicyInputs(policySet, mode, revision, knownUniverse, knownPorts)).failed();
        round.allocate();
        List<IpcacheEntry> cache;
        List<Identity> universe;
        Map<Long, List<NamedPort>> peerPorts;
        List<EndpointWork> work = new ArrayList<>();
        Set<Long> endpointIds = new java.util.HashSet<>();
        EndpointStore.State toSave;
        synchronized (lock) {
            if (table.closed()) {
                round.releaseAll();
                return null;
            }
            // 3. The endpoints take their identities; CIDR identities for every prefix policies name and every
            //    address the DNS proxy learned.
            round.commit(table);
            retry |= round.retry();
            // 4. The ipcache (IpcacheBuilder says the order), and the identities selectors resolve against.
            IpcacheBuilder entries = new IpcacheBuilder().cidrs(assigner.cidrs()).remote(remoteIpcache)
                    .host(hostAddresses);
            Map<Long, Identity> used = new TreeMap<>(remoteIpcache.identities());
            for (ReservedIdentity r : ReservedIdentity.values()) used.put(r.id(), r.identity());
            for (Identity i : assigner.cidrs().values()) used.put(i.id(), i);
            for (ManagedEndpoint ep : table.all()) {
                if (ep.refusal != null || (ep.spec == null && !ep.restoredPending)) continue;
                if (ep.identity == null) {
                    if (ep.spec != null) entries.endpoint(ep.id, ReservedIdentity.INIT.id(), ep.addresses);
                    continue;
                }
                used.put(ep.identity.id(), ep.identity);
                entries.endpoint(ep.id, ep.identity.id(), ep.addresses);
            }
            cache = entries.build();
            ipcache = cache;
            universe = List.copyOf(used.values());
            lastUniverse = universe;
            peerPorts = NamedPorts.byIdentity(table.all(), remoteIpcache.withNamedPorts());
            lastPeerPorts = peerPorts;
            // ids in the host firewall's range that endpoints (or orphans) of an older agent kept
            endpointIds.addAll(table.idsFrom(HostFirewall.FIRST_ID));
            // 5. What to push: every endpoint with an identity whose datapath state we own.
            for (ManagedEndpoint ep : table.all()) {
                if (ep.restoredPending || ep.identity == null || ep.needsIdentity || ep.refusal != null) continue;
                if (ep.spec == null) continue;
                if (!writer.attachable(ep)) {
                    retry = true;
                    continue;
                }
                work.add(new EndpointWork(ep));
            }
            toSave = table.takeDirtyState();
        }
        // The proxies resolve port names with the published ports: they must have them before any redirection.
        if (push) portsAhead.accept(peerPorts);
        // Persist before the datapath learns of an id, so that a crash cannot leave an id no file explains.
        if (toSave != null) retry |= !save(toSave);
        boolean ipcacheOk = push && writer.syncIpcache(cache);
        if (push && !ipcacheOk) retry = true;
        List<EndpointWork> toPush = work;
        if (!push) {
            // the gate holds back what the kernel already enforces; an endpoint it does not is pushed now, computed
            // without remote endpoints (a remote peer is world: allow rules fail closed), never left without a program
            synchronized (lock) {
                toPush = work.stream().filter(w -> !table.enforcedAtStart(w.ep().id)).toList();
            }
        }
        if (ipcacheOk || !push) {
            DatapathWriter.Pushed pushed = writer.push(toPush,
                    new DatapathWriter.PolicyInputs(policySet, mode, revision, universe, peerPorts));
            retry |= pushed.failed();
            // the host after the ipcache that gives its addresses the host identity, and only once the gate opens:
            // until then the host keeps what a previous agent left
            boolean hostFailed = push && hostFirewall.push(s.hostFirewall(), policySet, mode, universe, peerPorts,
                    hostAddresses, endpointIds);
            retry |= hostFailed;
            if (!pushed.failed() && !hostFailed && push) realization.realized(revision, pushed.count());
        }
        retry |= writer.remove(removals);
        return new Result(push, retry || remote.labelsMissing());
    }

    /** Writes endpoints.json; false (with the table left dirty and the error kept for the status) if it cannot. */
    private boolean save(EndpointStore.State state) {
        try {
            store.save(state);
            synchronized (lock) {
                saveError = null;
            }
            return true;
        } catch (IOException e) {
            synchronized (lock) {
                table.markDirty();
                saveError = "cannot write " + store.file() + ": " + e.getMessage();
            }
            return false;
        }
    }
}

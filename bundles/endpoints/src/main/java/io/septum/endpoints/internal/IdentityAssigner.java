package io.septum.endpoints.internal;

import io.septum.api.EndpointState;
import io.septum.api.Identity;
import io.septum.api.IdentityAllocator;
import io.septum.api.Label;
import io.septum.api.Labels;
import io.septum.api.ReservedIdentity;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Gets the identities a pass needs from the allocator: one per endpoint label set, and one per CIDR prefix that
 * policies name or that the FQDN cache holds an address of (kept here, and released when neither does any more).
 * An address the DNS proxy learned carries an {@code fqdn:NAME} label for each name it was returned for, so its
 * identity changes when its names do. An allocator may be slow (etcd),
 * so each pass works in a {@link Round}: what is needed is gathered under the manager's lock, allocated outside it,
 * and taken back under it, where an endpoint that changed meanwhile gives its fresh identity back. An endpoint that
 * was never pushed meanwhile gets the init identity's program first ({@link EndpointWork#INIT_LABELS}), so that it
 * never runs without one. {@link #cidrs} and the round's gather and commit are called with the lock held.
 */
final class IdentityAssigner {
    private static final Logger LOG = Logger.getLogger(IdentityAssigner.class.getName());

    private final IdentityAllocator identities;
    /** Guarded by the manager's lock. */
    private final Map<String, Identity> cidrIdentities = new HashMap<>();

    IdentityAssigner(IdentityAllocator identities) {
        this.identities = identities;
    }

    /** The CIDR prefixes' identities; the caller holds the lock. */
    Map<String, Identity> cidrs() {
        return cidrIdentities;
    }

    /**
     * What {@code table}'s endpoints and the policies' {@code prefixes} need; the caller holds the lock.
     * {@code attachable} resolves an endpoint's attachment point, false (with the error noted) when it cannot.
     */
    Round gather(EndpointTable table, List<String> prefixes, Predicate<ManagedEndpoint> attachable) {
        return gather(table, prefixes, Map.of(), attachable);
    }

    /** The same, with the names the FQDN cache holds by address. */
    Round gather(EndpointTable table, List<String> prefixes, Map<String, Set<String>> fqdnNames,
                 Predicate<ManagedEndpoint> attachable) {
        Round round = new Round();
        for (ManagedEndpoint ep : table.all()) {
            if (ep.refusal != null || (ep.spec == null && !ep.restoredPending)) continue;
            if (!ep.needsIdentity && ep.holdsRef) continue;
            round.needIdentity.add(new EndpointWork(ep));
            // never pushed and no identity yet: the init program goes in before the (maybe slow) allocation
            if (ep.identity == null && ep.pushedEndpoint == null && ep.spec != null) {
                if (attachable.test(ep)) round.initWork.add(EndpointWork.init(ep));
                else round.retry = true;
            }
        }
        Map<String, Set<String>> names = new HashMap<>();
        for (String p : prefixes) names.put(IpAddresses.normalizePrefix(p), Set.of());
        fqdnNames.forEach((ip, n) -> {
            String ipn = IpAddresses.parse(ip);
            if (ipn != null) names.merge(IpAddresses.hostPrefix(ipn), n, (a, b) -> {
                Set<String> u = new java.util.TreeSet<>(a);
                u.addAll(b);
                return u;
            });
        });
        names.forEach((p, n) -> {
            Labels want = cidrLabels(p, n);
            round.wantedCidrs.put(p, want);
            Identity have = cidrIdentities.get(p);
            if (have == null || !have.labelSet().equals(want)) round.missingCidrs.add(p);
        });
        return round;
    }

    /** A prefix's identity labels: its CIDR, the world, and the names the FQDN cache holds for it. */
    static Labels cidrLabels(String prefix, Set<String> fqdnNames) {
        List<Label> labels = new ArrayList<>();
        labels.add(new Label(Label.CIDR, prefix, ""));
        labels.add(Label.reserved(ReservedIdentity.WORLD.labelName()));
        for (String n : fqdnNames) labels.add(new Label(Label.FQDN, n, ""));
        return Labels.of(labels);
    }

    /** One pass's allocations, from gather to commit. */
    final class Round {
        private final List<EndpointWork> needIdentity = new ArrayList<>();
        private final List<EndpointWork> initWork = new ArrayList<>();
        private final Map<String, Labels> wantedCidrs = new HashMap<>();
        private final List<String> missingCidrs = new ArrayList<>();
        private final Map<EndpointWork, Identity> allocated = new HashMap<>();
        private final Map<EndpointWork, String> allocationErrors = new HashMap<>();
        private final Map<String, Identity> newCidrs = new HashMap<>();
        private boolean retry;

        private Round() {
        }

        /** The endpoints to give the init identity's program before allocating. */
        List<EndpointWork> initWork() {
            return initWork;
        }

        /** Asks the allocator; without the lock. */
        void allocate() {
            for (EndpointWork w : needIdentity) {
                try {
                    allocated.put(w, identities.allocate(w.labels()));
                } catch (RuntimeException e) {
                    allocationErrors.put(w, "cannot allocate an identity: " + e.getMessage());
                    retry = true;
                }
            }
            for (String p : missingCidrs) {
                try {
                    newCidrs.put(p, identities.allocate(wantedCidrs.get(p)));
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "cannot allocate an identity for CIDR " + p, e);
                    retry = true;
                }
            }
        }

        /** The manager closed meanwhile: gives back what was allocated. */
        void releaseAll() {
            allocated.values().forEach(i -> identities.release(i.id()));
            newCidrs.values().forEach(i -> identities.release(i.id()));
        }

        /** Hands the identities to the endpoints still as they were gathered; the caller holds the lock. */
        void commit(EndpointTable table) {
            allocationErrors.forEach((w, err) -> w.ep().error = err);
            for (var a : allocated.entrySet()) {
                ManagedEndpoint ep = a.getKey().ep();
                Identity fresh = a.getValue();
                if (ep.generation != a.getKey().generation() || !table.contains(ep)) {
                    // Changed meanwhile: the next pass allocates for what it is now.
                    identities.release(fresh.id());
                    retry = true;
                    continue;
                }
                Identity old = ep.identity;
                if (ep.holdsRef && old != null) identities.release(old.id());
                if (ep.restoredPending && old != null && old.id() != fresh.id()) {
                    LOG.warning("endpoint " + ep.id + ": the allocator gives identity " + fresh.id()
                            + " to labels the datapath knows as " + old.id() + "; using " + fresh.id());
                }
                ep.identity = fresh;
                ep.holdsRef = true;
                ep.needsIdentity = false;
                if (ep.state == EndpointState.WAITING_FOR_IDENTITY) ep.state = EndpointState.REGENERATING;
                table.markDirty();
            }
            // CIDR identities for every prefix policies name and every address the FQDN cache holds.
            for (var e : newCidrs.entrySet()) {
                Identity had = cidrIdentities.get(e.getKey());
                if (had != null && had.labelSet().equals(e.getValue().labelSet())) {
                    identities.release(e.getValue().id());
                    continue;
                }
                if (had != null) identities.release(had.id()); // its names changed
                cidrIdentities.put(e.getKey(), e.getValue());
            }
            for (var it = cidrIdentities.entrySet().iterator(); it.hasNext(); ) {
                var e = it.next();
                if (!wantedCidrs.containsKey(e.getKey())) {
                    identities.release(e.getValue().id());
                    it.remove();
                }
            }
        }

        /** Whether something could not be had and a later pass should try again. */
        boolean retry() {
            return retry;
        }
    }
}

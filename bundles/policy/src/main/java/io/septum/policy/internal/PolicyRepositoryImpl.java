package io.septum.policy.internal;

import io.septum.api.ComponentStatus;
import io.septum.api.HealthReporter;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.ImportResult;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyHistory;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.PolicyListener;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.policy.PolicyRevision;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.RejectedPolicy;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.service.ServiceListener;
import io.septum.support.config.AgentDirs;
import io.septum.policy.internal.PolicyHistoryLog.Entry;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The agent's policy repository: validated, persisted, revisioned. Every change validates the whole input first
 * and applies all of it or none; listeners hear of it afterwards, outside the state lock. Every change is also
 * recorded in the history ({@link PolicyHistoryLog}): the state file is written first, then the history, so a
 * crash between the two loses a history entry, never a change; at the next start, policies newer than the history's
 * last revision are recorded with the author "unknown".
 */
@Component(service = {PolicyRepository.class, PolicyHistory.class, HealthReporter.class, ServiceListener.class},
        name = PolicyRepositoryImpl.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = PolicyRepositoryImpl.Config.class)
public final class PolicyRepositoryImpl implements PolicyRepository, PolicyHistory, HealthReporter, ServiceListener {
    static final String PID = "io.septum.policy";
    private static final System.Logger LOG = System.getLogger(PolicyRepositoryImpl.class.getName());

    @ObjectClassDefinition(name = "Septum policy repository", description = "Policy enforcement settings")
    public @interface Config {
        @AttributeDefinition(description = "default: endpoints are open in a direction until a rule selects them; "
                + "always: every endpoint is closed unless allowed; never: no enforcement")
        String enforcementMode() default "default";
    }

    private final PolicyEngine engine;
    private final PolicyStore store;
    private final PolicyHistoryLog history;
    /** Guards state changes and the file; never held while listeners run. */
    private final ReentrantLock lock = new ReentrantLock();
    /** Serializes notifications so listeners see revisions in order; separate from {@link #lock}. */
    private final ReentrantLock notifyLock = new ReentrantLock();
    /** The policies as stored; {@link #current()} is {@link #effective}, their toServices resolved. */
    private volatile PolicySet current;
    private volatile PolicySet effective;
    /** The services' backends, which toServices peers resolve against; changed by {@link #servicesChanged}. */
    private volatile ServiceTargets services;
    private final Path servicesFile;
    private volatile long servicesGeneration;
    private volatile long revision;
    private volatile EnforcementMode mode;
    private volatile String restoreProblem;
    /**
     * Set when the state file could not be read at start: the policies it held are unknown, so the repository
     * enforces {@code always} (closed unless allowed) instead of {@code default}, rather than open every
     * endpoint those policies isolated. The operator's next change (the status says to import again) ends it.
     */
    private volatile boolean failClosed;
    /** Objects a source offered and validation refused, by origin; in memory only, sources report them again. */
    private final java.util.Map<String, RejectedPolicy> rejected = new java.util.concurrent.ConcurrentHashMap<>();
    private long deliveredRevision = -1;
    private EnforcementMode deliveredMode;
    private long deliveredServices;

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    private volatile List<PolicyListener> listeners = new CopyOnWriteArrayList<>();

    /** Cluster mode's store, where a cluster policy's stage, promote and rollback go; null when standalone. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile io.septum.api.policy.ClusterPolicies clusterPolicies;
    private final ClusterChanges cluster = new ClusterChanges(() -> clusterPolicies, new ClusterChanges.Local() {
        @Override
        public Optional<PolicyInfo> get(String namespace, String name) {
            return PolicyRepositoryImpl.this.get(namespace, name);
        }

        @Override
        public long revision() {
            return revision;
        }
    });

    /** Tests without DS: the cluster's store. */
    void clusterPolicies(io.septum.api.policy.ClusterPolicies store) {
        this.clusterPolicies = store;
    }

    @Activate
    public PolicyRepositoryImpl(BundleContext ctx, Config config) {
        this(AgentDirs.stateDir(ctx::getProperty).resolve("policies"), parseMode(config), new PolicyEngineImpl());
    }

    PolicyRepositoryImpl(Path dir, EnforcementMode mode, PolicyEngine engine) {
        this.engine = engine;
        this.store = new PolicyStore(dir);
        this.history = new PolicyHistoryLog(dir, PolicyHistoryLog.DEFAULT_KEEP);
        this.mode = mode;
        this.servicesFile = dir.resolve(ServiceTargets.FILE);
        this.services = ServiceTargets.load(servicesFile);
        restore();
        recordUnrecorded();
    }

    /** Policies changed after the history's last entry (a crash between the two writes) get an entry now. */
    private void recordUnrecorded() {
        long last = history.lastRevision();
        List<PolicyHistoryLog.Entry> missing = new ArrayList<>();
        for (PolicyInfo p : current.policies()) {
            if (p.revision() <= last) continue;
            String before = history.lastDocument(p.kind(), p.namespace(), p.name());
            missing.add(Entry.of(p.revision(), "unknown (recorded at start)", "import",
                    before == null ? "added" : "changed", p, null, p.document()));
        }
        missing.sort(java.util.Comparator.comparingLong(PolicyHistoryLog.Entry::revision));
        history.append(missing);
        // what those policies were before these entries is not known: no rollback to before them
        if (!missing.isEmpty()) history.markCompleteFrom(revision);
    }

    private static String author(String author) {
        return author == null || author.isBlank() ? "agent" : author;
    }

    /**
     * A change by an operator (the API's caller, the console, a direct caller) ends the fail-closed start: it is
     * someone's answer to "import them again". A policy source's or the cluster's automatic re-import is not: it
     * brings back only its own policies, not the lost ones that isolated other endpoints.
     */
    private void operatorChanged(String author) {
        // the cluster's re-import names who stored the policy first ("alice via cluster (etcd)")
        if (author == null || !(author.startsWith("policy source ") || author.equals("cluster (etcd)")
                || author.endsWith(" via cluster (etcd)"))) {
            failClosed = false;
        }
    }

    static EnforcementMode parseMode(Config config) {
        String m = config == null ? "default" : config.enforcementMode();
        try {
            return EnforcementMode.parse(m == null ? "default" : m);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("configuration " + PID + ": enforcementMode: " + e.getMessage()
                    + "; fix it in etc/" + PID + ".cfg", e);
        }
    }

    /**
     * Reads the file a previous run left. A stored policy the engine now refuses is skipped and logged. A damaged
     * file is rebuilt from the history, which holds the last document of every policy in force
     * ({@link PolicyHistoryLog#inForce()}); only when that cannot be done either does the repository start empty,
     * and then closed ({@link #failClosed}).
     */
    private void restore() {
        PolicyStore.State state = store.load();
        if (store.problem() != null) {
            state = fromHistory(store.problem());
            if (state == null) {
                // nothing to rebuild from: start empty, say so in status until restart, and closed
                restoreProblem = store.problem();
                failClosed = true;
                state = new PolicyStore.State(0, List.of());
            }
        }
        PolicySet set = engine.empty();
        for (PolicyStore.Stored s : state.policies()) {
            try {
                set = set.merge(engine.parse(s.origin(), s.document()), s.revision());
            } catch (PolicyValidationException e) {
                restoreProblem = "stored policy " + s.kind() + " " + s.namespace() + "/" + s.name()
                        + " no longer validates and is not loaded: " + PolicyStore.describe(e);
                LOG.log(System.Logger.Level.ERROR, restoreProblem);
            }
        }
        setCurrent(set);
        // the history outlives a damaged state file: new revisions go on from it instead of repeating its numbers
        revision = Math.max(state.revision(), history.lastRevision());
    }

    /**
     * The state as the history last recorded it, or null when the history has nothing (or a policy of it no longer
     * parses, so the rebuilt set would not be what was enforced). The rebuilt state is written at once.
     */
    private PolicyStore.State fromHistory(String problem) {
        PolicyStore.State rebuilt = PolicyStore.rebuild(history, engine);
        if (rebuilt == null) return null;
        List<PolicyStore.Stored> stored = rebuilt.policies();
        try {
            store.save(rebuilt);
        } catch (java.io.UncheckedIOException ex) {
            LOG.log(System.Logger.Level.ERROR, "cannot write the policies rebuilt from the history", ex);
        }
        String moved = problem.endsWith(PolicyStore.STARTING_EMPTY)
                ? problem.substring(0, problem.length() - PolicyStore.STARTING_EMPTY.length()) : problem;
        restoreProblem = moved + "; rebuilt " + stored.size() + " policies from the policy history (revision "
                + history.lastRevision() + ")";
        if (history.problem() != null) {
            // lines of the history could not be read: a policy may be missing from the rebuild, so stay closed
            failClosed = true;
            restoreProblem += ", which had unreadable lines (" + history.problem() + "): until the next change mode"
                    + " default acts as always";
        }
        LOG.log(System.Logger.Level.WARNING, restoreProblem);
        return rebuilt;
    }

    @Modified
    void modified(Config config) {
        EnforcementMode m = parseMode(config);
        if (m != mode) {
            mode = m;
            notifyListeners();
        }
    }

    void setListenersForTest(List<PolicyListener> l) {
        listeners = l;
    }

    @Override
    public ImportResult importPolicies(String origin, String text) throws PolicyValidationException {
        return importPolicies(origin, text, null);
    }

    @Override
    public ImportResult importPolicies(String origin, String text, String author) throws PolicyValidationException {
        PolicySet parsed = engine.parse(origin, text);
        List<String> names = new ArrayList<>();
        for (PolicyInfo p : parsed.policies()) names.add(p.qualifiedName());
        long rev;
        lock.lock();
        try {
            if (parsed.policies().isEmpty()) return new ImportResult(revision, List.of());
            List<io.septum.api.policy.ValidationError> clashes = new ArrayList<>();
            for (PolicyInfo p : parsed.policies()) {
                if (!p.namespace().isEmpty()) continue;
                for (PolicyInfo c : current.policies()) {
                    String clash = c.namespace().isEmpty() && c.name().equals(p.name())
                            ? CidrGroupReader.nameClash(p.kind(), c.kind()) : null;
                    if (clash != null) {
                        clashes.add(new io.septum.api.policy.ValidationError(origin, 0, p.kind(), p.name(),
                                "metadata.name", clash));
                    }
                }
            }
            if (!clashes.isEmpty()) throw new PolicyValidationException(clashes);
            rev = revision + 1;
            List<PolicyHistoryLog.Entry> changes = new ArrayList<>();
            for (PolicyInfo p : parsed.policies()) {
                String before = current.policies().stream().filter(c -> same(c, p)).map(PolicyInfo::document)
                        .findFirst().orElse(null);
                String change = before == null ? "added" : before.equals(p.document()) ? "unchanged" : "changed";
                changes.add(Entry.of(rev, author(author), "import", change, p, null, p.document()));
            }
            commit(current.merge(parsed, rev), rev, changes, author);
        } finally {
            lock.unlock();
        }
        notifyListeners();
        return new ImportResult(rev, names);
    }

    @Override
    public long delete(String namespace, String name) {
        return delete(namespace, name, null);
    }

    @Override
    public long delete(String namespace, String name, String author) {
        long rev;
        lock.lock();
        try {
            String ns = namespace == null ? "" : namespace;
            Optional<PolicySet> next = current.without(ns, name);
            if (next.isEmpty()) {
                throw new NoSuchElementException("no policy named \"" + (ns.isEmpty() ? name : ns + "/" + name)
                        + "\" (cluster-wide policies have no namespace; see policy list)");
            }
            rev = revision + 1;
            List<PolicyHistoryLog.Entry> changes = new ArrayList<>();
            for (PolicyInfo p : current.policies()) {
                if (p.namespace().equals(ns) && p.name().equals(name)) {
                    changes.add(Entry.of(rev, author(author), "delete", "deleted", p, null, null));
                }
            }
            commit(next.get(), rev, changes, author);
        } finally {
            lock.unlock();
        }
        notifyListeners();
        return rev;
    }

    /**
     * An operator's change takes effect, under the lock: stored first, so that a failed save leaves the repository as
     * it was; then current, its revision and its history entries.
     */
    private void commit(PolicySet next, long rev, List<PolicyHistoryLog.Entry> changes, String author) {
        persist(next, rev);
        setCurrent(next);
        revision = rev;
        history.append(changes);
        operatorChanged(author);
    }

    /** Under the lock (or at start): the stored set and the one consumers see, with toServices resolved. */
    private void setCurrent(PolicySet set) {
        current = set;
        effective = set instanceof PolicySetImpl i ? i.withServices(services) : set;
    }

    /** The services or their endpoints changed: policies that name a service are resolved again and told. */
    @Override
    public void servicesChanged(List<io.septum.api.service.Service> list, io.septum.api.EndpointSnapshot endpoints) {
        ServiceTargets next = ServiceTargets.of(list, endpoints);
        boolean named;
        lock.lock();
        try {
            if (next.equals(services)) return;
            services = next;
            setCurrent(current);
            // kept for the next start, but not the "no services" the services bundle says when it or this component
            // stops (no endpoint snapshot): a normal stop would otherwise leave nothing for the restart
            if (endpoints.revision() != 0) next.save(servicesFile);
            // no policy names a service: nothing to regenerate (the set keeps them for the next import)
            named = current instanceof PolicySetImpl i && i.namesServices();
            if (named) servicesGeneration++;
        } finally {
            lock.unlock();
        }
        if (named) notifyListeners();
    }

    private void persist(PolicySet set, long rev) {
        List<PolicyStore.Stored> stored = new ArrayList<>();
        for (PolicyInfo p : set.policies()) {
            stored.add(new PolicyStore.Stored(p.kind(), p.namespace(), p.name(), p.origin(), p.revision(), p.document()));
        }
        store.save(new PolicyStore.State(rev, stored));
    }

    private void notifyListeners() {
        notifyLock.lock();
        try {
            // the generation and revision before the set: a set newer than them is told again by its own change
            long generation = servicesGeneration;
            long rev = revision;
            PolicySet set = effective;
            EnforcementMode m = mode();
            if (rev == deliveredRevision && m == deliveredMode && generation == deliveredServices) return;
            deliveredRevision = rev;
            deliveredMode = m;
            deliveredServices = generation;
            for (PolicyListener l : List.copyOf(listeners)) {
                try {
                    l.policyChanged(rev, set, m);
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.ERROR, "policy listener " + l + " failed on revision " + rev, e);
                }
            }
        } finally {
            notifyLock.unlock();
        }
    }

    private static boolean same(PolicyInfo a, PolicyInfo b) {
        return a.kind().equals(b.kind()) && a.namespace().equals(b.namespace()) && a.name().equals(b.name());
    }

    @Override
    public List<PolicyRevision> history(String namespace, String name, int limit) {
        lock.lock();
        try {
            return history.revisions(namespace == null ? "" : namespace, name, limit);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public long rollback(String namespace, String name, long to, String author) throws PolicyValidationException {
        String ns = namespace == null ? "" : namespace;
        String shown = ns.isEmpty() ? name : ns + "/" + name;
        long rev;
        // set when the rollback is the cluster store's to do: the document (empty: remove it), and for a refusal
        String clusterTarget = null, clusterOrigin = null, clusterShown = null, clusterInstead = null;
        lock.lock();
        try {
            if (to < 0 || to > revision) {
                throw new IllegalArgumentException("revision " + to + " is not one this repository has had (0 to "
                        + revision + ")");
            }
            List<PolicyHistoryLog.Entry> all = history.entries().stream().filter(e -> e.samePolicy(ns, name)).toList();
            if (all.isEmpty()) {
                throw new NoSuchElementException("the policy history has no policy \"" + shown + "\" (see policy history)");
            }
            if (all.stream().map(PolicyHistoryLog.Entry::kind).distinct().count() > 1) {
                throw new IllegalStateException("policies of several kinds were named \"" + shown
                        + "\"; roll back by importing the document you want from policy history -o json");
            }
            long first = Math.max(history.entries().get(0).revision(), history.completeFrom());
            if (to < first) {
                // before the history is complete it cannot say what the policy was (a change then may be gone)
                throw new IllegalArgumentException("revision " + to + " is older than the history kept (complete from "
                        + "revision " + first + ")");
            }
            PolicyHistoryLog.Entry then = null;
            for (PolicyHistoryLog.Entry e : all) if (e.revision() <= to) then = e;
            String target = then == null ? null : then.document();
            Optional<PolicyInfo> now = current.policies().stream()
                    .filter(p -> p.namespace().equals(ns) && p.name().equals(name)).findFirst();
            if (java.util.Objects.equals(target, now.map(PolicyInfo::document).orElse(null))) {
                throw new IllegalStateException("policy " + shown + " already is as it was at revision " + to
                        + (target == null ? " (absent)" : ""));
            }
            // a cluster policy now and then (or absent then), or a cluster policy then and absent now: rolled back in
            // the store, for every node. A local policy now whose document then was a cluster policy's, or the other
            // way round, would move between the two; that is refused (a revision where the store had deleted it holds
            // no document: restoring "absent" to a local policy is local).
            boolean clusterNow = now.isPresent() && ClusterChanges.isClusterCopy(now.get().origin());
            boolean clusterThen = target != null && ClusterChanges.isClusterCopy(then.origin());
            String rollBackThere = target == null
                    ? "remove it there: septum policy delete --cluster"
                    : (now.isPresent() && !clusterNow ? "delete the local policy first (septum policy delete "
                            + shown + "), then " : "") + "roll it back there: septum policy import --cluster with its"
                            + " document of revision " + to + " (septum policy history -o json)";
            if (clusterNow && then == null) {
                // revisions are this node's: no record before "to" may mean the node had not joined yet, not that
                // the cluster had no such policy; removing it everywhere on that guess is refused
                throw new IllegalStateException("this node's history has no record of " + shown + " at or before"
                        + " revision " + to + " (it may have been in the cluster before this node had it); to remove"
                        + " the cluster policy: septum policy delete --cluster " + shown);
            }
            if ((clusterNow && (target == null || clusterThen)) || (now.isEmpty() && clusterThen)) {
                clusterTarget = target == null ? "" : target;
                clusterOrigin = clusterNow ? now.get().origin() : then.origin();
                clusterShown = clusterNow ? shown : shown + " at revision " + to;
                clusterInstead = rollBackThere;
            } else {
                if (now.isPresent()) io.septum.api.policy.ClusterPolicies.refuseLocalChange(now.get().origin(), shown, rollBackThere);
                if (target != null) io.septum.api.policy.ClusterPolicies.refuseLocalChange(then.origin(), shown + " at revision " + to, rollBackThere);
            }
            if (clusterTarget != null) {
                rev = -1;
            } else {
                rev = rollbackHere(ns, name, to, author, now, then, target);
            }
        } finally {
            lock.unlock();
        }
        if (clusterTarget != null) {
            return clusterTarget.isEmpty() ? cluster.remove(ns, name, clusterOrigin, clusterShown, clusterInstead)
                    : cluster.put(ns, name, clusterTarget, author, clusterOrigin, clusterShown, clusterInstead);
        }
        notifyListeners();
        return rev;
    }

    /** The rollback of a local policy, under the lock: its document at revision {@code to}, or none. */
    private long rollbackHere(String ns, String name, long to, String author, Optional<PolicyInfo> now,
                              PolicyHistoryLog.Entry then, String target) throws PolicyValidationException {
        long rev = revision + 1;
        PolicySet base = current.without(ns, name).orElse(current);
        PolicySet next;
        PolicyHistoryLog.Entry record;
        String note = "to revision " + to;
        if (target == null) {
            next = base;
            record = Entry.of(rev, author(author), "rollback", "deleted", now.get(), note, null);
        } else {
            PolicySet restored = engine.parse(then.origin() == null ? "rollback" : then.origin(), target);
            next = base.merge(restored, rev);
            PolicyInfo p = restored.policies().get(0);
            record = new PolicyHistoryLog.Entry(rev, Instant.now().toString(), author(author), "rollback",
                    now.isEmpty() ? "added" : "changed", p.kind(), p.namespace(), p.name(), then.origin(), note, target);
        }
        commit(next, rev, List.of(record), author);
        return rev;
    }

    @Override
    public long setMode(String namespace, String name, String mode, String author) throws PolicyValidationException {
        if (!io.septum.api.policy.PolicyModes.AUDIT.equals(mode) && !io.septum.api.policy.PolicyModes.ENFORCE.equals(mode)) {
            throw new IllegalArgumentException("mode \"" + mode + "\": expected " + io.septum.api.policy.PolicyModes.AUDIT
                    + " or " + io.septum.api.policy.PolicyModes.ENFORCE);
        }
        String ns = namespace == null ? "" : namespace;
        String shown = ns.isEmpty() ? name : ns + "/" + name;
        long rev;
        String clusterDocument = null, clusterOrigin = null;
        lock.lock();
        try {
            PolicyInfo p = current.policies().stream().filter(x -> x.namespace().equals(ns) && x.name().equals(name))
                    .findFirst().orElseThrow(() -> new NoSuchElementException("no policy named \"" + shown
                            + "\" (see policy list)"));
            if (p.kind().equals(CompiledPolicy.CIDR_GROUP)) {
                throw new IllegalArgumentException(shown + " is a CiliumCIDRGroup: it has no mode (it allows nothing by"
                        + " itself); stage or promote the policies that name it");
            }
            String document = PolicyDocuments.withMode(p.document(), mode);
            if (document == null) {
                throw new IllegalStateException("policy " + shown + " already is in " + mode + " mode");
            }
            if (ClusterChanges.isClusterCopy(p.origin())) {
                // a cluster policy's mode is changed in the store, for every node
                clusterDocument = document;
                clusterOrigin = p.origin();
                rev = -1;
            } else {
                rev = revision + 1;
                PolicySet parsed = engine.parse(p.origin(), document);
                PolicyInfo after = parsed.policies().get(0);
                String action = io.septum.api.policy.PolicyModes.AUDIT.equals(mode) ? "stage" : "promote";
                commit(current.merge(parsed, rev), rev,
                        List.of(Entry.of(rev, author(author), action, "changed", after, "mode " + mode,
                                after.document())), author);
            }
        } finally {
            lock.unlock();
        }
        if (clusterDocument != null) {
            return cluster.put(ns, name, clusterDocument, author, clusterOrigin, shown, "stage or promote it there:"
                    + " septum policy import --cluster with the annotation " + io.septum.api.policy.PolicyModes.ANNOTATION
                    + ": " + mode);
        }
        notifyListeners();
        return rev;
    }

    @Override
    public ComponentStatus health() {
        String summary = current.policies().size() + " policies, revision " + revision + ", mode " + mode;
        String problem = restoreProblem != null ? restoreProblem : history.problem();
        if (problem != null && mode() != mode) problem += "; until then mode " + mode + " acts as " + mode();
        return problem == null ? ComponentStatus.ok("policy", summary)
                : new ComponentStatus("policy", "degraded", summary + "; " + problem);
    }

    @Override
    public List<PolicyInfo> list() {
        return current.policies();
    }

    @Override
    public Optional<PolicyInfo> get(String namespace, String name) {
        String ns = namespace == null ? "" : namespace;
        return current.policies().stream().filter(p -> p.namespace().equals(ns) && p.name().equals(name)).findFirst();
    }

    @Override
    public long revision() {
        return revision;
    }

    @Override
    public PolicySet current() {
        return effective;
    }

    @Override
    public EnforcementMode mode() {
        // only 'default' opens an endpoint no policy selects; 'never' enforces nothing and 'always' is closed anyway
        return failClosed && mode == EnforcementMode.DEFAULT ? EnforcementMode.ALWAYS : mode;
    }

    @Override
    public void reportRejected(RejectedPolicy r) {
        rejected.put(r.origin(), r);
    }

    @Override
    public void clearRejected(String origin) {
        if (origin != null) rejected.remove(origin);
    }

    @Override
    public List<RejectedPolicy> rejected() {
        return rejected.values().stream().sorted(java.util.Comparator.comparing(RejectedPolicy::origin)).toList();
    }
}

package io.septum.policy.internal;

import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.PolicyOffer;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.policy.PolicySink;
import io.septum.api.policy.PolicySource;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.RejectedPolicy;
import java.util.Collection;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;

/**
 * A bound {@link PolicySource} and the sink it offers to: its offers go into the repository under origins that
 * start with its name, refusals are logged and recorded, and nothing goes anywhere after {@link #closed} is set.
 */
final class PolicySourceConnection implements PolicySink {
    private static final System.Logger LOG = System.getLogger(PolicySourceConnection.class.getName());

    final String name;
    final PolicySource source;
    private final String prefix;
    private final PolicyRepository repository;
    volatile boolean closed;

    PolicySourceConnection(String name, PolicySource source, PolicyRepository repository) {
        this.name = name;
        this.source = source;
        this.prefix = name + ":";
        this.repository = repository;
    }

    @Override
    public boolean upsert(PolicyOffer offer) throws PolicyValidationException {
        if (closed) return false;
        String origin = owned(offer.origin());
        Optional<PolicyInfo> current = repository.get(offer.namespace(), offer.name());
        if (current.isPresent() && current.get().origin().equals(origin)
                && offer.document().equals(current.get().document())) {
            repository.clearRejected(origin);
            return false;
        }
        try {
            repository.importPolicies(origin, offer.document(), "policy source " + name);
        } catch (PolicyValidationException e) {
            LOG.log(System.Logger.Level.WARNING, "source " + name + ": rejected " + origin + ": " + e.getMessage()
                    + (current.isPresent() ? "; its previous version stays in force" : "; nothing applied"));
            repository.reportRejected(offer.rejected(e.getMessage(), System.currentTimeMillis()));
            throw e;
        }
        repository.clearRejected(origin);
        LOG.log(System.Logger.Level.INFO, "source " + name + ": applied " + origin);
        return true;
    }

    @Override
    public void remove(String origin) {
        if (closed) return;
        owned(origin);
        repository.clearRejected(origin);
        // By origin, not by name: a policy of the same name imported from a file is not this source's to delete.
        for (PolicyInfo p : repository.list()) {
            if (p.origin().equals(origin)) delete(p, "");
        }
    }

    @Override
    public void resync(Collection<String> liveOrigins) {
        if (closed) return;
        Set<String> live = Set.copyOf(liveOrigins);
        for (PolicyInfo p : repository.list()) {
            if (p.origin().startsWith(prefix) && !live.contains(p.origin())) delete(p, " (its object is gone)");
        }
        for (RejectedPolicy r : repository.rejected()) {
            if (r.origin().startsWith(prefix) && !live.contains(r.origin())) repository.clearRejected(r.origin());
        }
    }

    private void delete(PolicyInfo p, String why) {
        try {
            repository.delete(p.namespace(), p.name(), "policy source " + name);
            LOG.log(System.Logger.Level.INFO, "source " + name + ": deleted " + p.origin() + why);
        } catch (NoSuchElementException e) {
            // Deleted meanwhile (policy delete): the outcome wanted.
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "source " + name + ": cannot delete " + p.origin(), e);
        }
    }

    private String owned(String origin) {
        if (origin == null || !origin.startsWith(prefix) || origin.length() == prefix.length()) {
            throw new IllegalArgumentException("policy source " + name + " offered origin \"" + origin
                    + "\": its origins must start with \"" + prefix + "\"");
        }
        return origin;
    }
}

package io.septum.policy.internal;

import io.septum.api.policy.PolicyRepository;
import io.septum.api.policy.PolicySource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * The whiteboard of {@link PolicySource}s: each bound source is opened with its own sink into the repository, on
 * this component's thread (never inside SCR's bind), and closed when it goes away. Its policies stay in force when
 * it goes: a redeployed source resyncs them, and the kernel never passes through a state without them.
 */
@Component(immediate = true)
public final class PolicySources {
    private static final System.Logger LOG = System.getLogger(PolicySources.class.getName());
    private static final Pattern NAME = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");

    private final PolicyRepository repository;
    private final Map<String, PolicySourceConnection> byName = new LinkedHashMap<>();
    private final ExecutorService calls = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "septum-policy-sources");
        t.setDaemon(true);
        return t;
    });
    private boolean closed;

    @Activate
    public PolicySources(@Reference PolicyRepository repository) {
        this.repository = repository;
    }

    @Reference(service = PolicySource.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, unbind = "removeSource")
    void addSource(PolicySource source) {
        String name;
        try {
            name = source.name();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "a policy source failed to say its name; ignored", e);
            return;
        }
        if (name == null || !NAME.matcher(name).matches()) {
            LOG.log(System.Logger.Level.WARNING, "policy source " + source.getClass().getName() + " refused: its name \""
                    + name + "\" is not a DNS label (lowercase letters, digits and '-')");
            return;
        }
        PolicySourceConnection c = new PolicySourceConnection(name, source, repository);
        synchronized (byName) {
            if (closed) return;
            if (byName.containsKey(name)) {
                LOG.log(System.Logger.Level.WARNING, "a second policy source named " + name + " ("
                        + source.getClass().getName() + ") is ignored: it would own the same origins");
                return;
            }
            byName.put(name, c);
        }
        calls.execute(() -> {
            try {
                source.open(c);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "policy source " + name + " failed to open", e);
            }
        });
    }

    void removeSource(PolicySource source) {
        PolicySourceConnection c;
        synchronized (byName) {
            c = byName.values().stream().filter(e -> e.source == source).findFirst().orElse(null);
            if (c == null) return;
            byName.remove(c.name);
            c.closed = true;
        }
        calls.execute(() -> close(c));
    }

    /** The names of the bound sources. */
    List<String> names() {
        synchronized (byName) {
            return List.copyOf(byName.keySet());
        }
    }

    private static void close(PolicySourceConnection c) {
        try {
            c.source.close();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "policy source " + c.name + " failed to close", e);
        }
    }

    @Deactivate
    void deactivate() {
        List<PolicySourceConnection> open;
        synchronized (byName) {
            closed = true;
            open = new ArrayList<>(byName.values());
            byName.clear();
        }
        for (PolicySourceConnection c : open) {
            c.closed = true;
            calls.execute(() -> close(c));
        }
        calls.shutdown();
        try {
            if (!calls.awaitTermination(10, TimeUnit.SECONDS)) calls.shutdownNow();
        } catch (InterruptedException e) {
            calls.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}

package io.septum.proxy.common;

import io.septum.api.EndpointIndex;
import io.septum.api.IdentityAllocator;
import io.septum.api.datapath.Datapath;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowSink;
import io.septum.api.policy.PolicyRepository;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.FieldOption;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * What both proxies judge with and talk to, bound once for the bundle: the endpoint index (who is on each side), the
 * identity allocator (the labels of a peer that is no local endpoint), the policy repository, the datapath (told
 * each proxy's port) and the flow sinks (each proxy's flows). Each may come and go; a getter answers null
 * meanwhile, and the proxies then refuse (fail closed). A service of this bundle only.
 */
@Component(service = ProxyInputs.class)
public final class ProxyInputs {
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile EndpointIndex endpointIndex;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile IdentityAllocator identityAllocator;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile PolicyRepository policyRepository;

    private static final Logger LOG = Logger.getLogger(ProxyInputs.class.getName());

    private volatile Datapath datapath;
    /** The proxies' runners, told when a datapath comes. */
    private final List<Consumer<Datapath>> datapathListeners = new CopyOnWriteArrayList<>();

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, fieldOption = FieldOption.UPDATE)
    private final List<FlowSink> sinks = new CopyOnWriteArrayList<>();

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindDatapath(Datapath dp) {
        datapath = dp;
        datapathListeners.forEach(l -> l.accept(dp));
    }

    void unbindDatapath(Datapath dp) {
        if (datapath == dp) datapath = null;
    }

    /** The datapath, or null while there is none. */
    public Datapath datapath() {
        return datapath;
    }

    /** {@code listener} hears of every datapath bound from now on, until {@link #removeDatapathListener}. */
    public void addDatapathListener(Consumer<Datapath> listener) {
        datapathListeners.add(listener);
    }

    public void removeDatapathListener(Consumer<Datapath> listener) {
        datapathListeners.remove(listener);
    }

    /** The running instance of each proxy (by name): a restarted proxy's old instance must not clear its port. */
    private final java.util.Map<String, Object> live = new java.util.concurrent.ConcurrentHashMap<>();
    /** Held across a port change (which may wait for the datapath to load), never by an activation. */
    private final Object portLock = new Object();

    /** {@code runner} is now the instance of {@code proxy}. */
    void started(String proxy, Object runner) {
        live.put(proxy, runner);
    }

    /**
     * Runs {@code portChange} if {@code runner} is the instance of {@code proxy}, or ({@code closing}: it has
     * stopped) if no other instance has started since; serialised with every other port change, so that an old
     * instance's clearing cannot land after a new one's setting.
     */
    void changePort(String proxy, Object runner, boolean closing, Runnable portChange) {
        synchronized (portLock) {
            Object now = live.get(proxy);
            if (closing) {
                if (now != null && now != runner) return; // a newer instance owns the port now
                live.remove(proxy, runner);
            } else if (now != runner) {
                return;
            }
            portChange.run();
        }
    }

    /** Hands a proxy's flow to every flow sink; a failing sink is logged and passed over. */
    public void publish(Flow f) {
        for (FlowSink s : sinks) {
            try {
                s.accept(f);
            } catch (RuntimeException e) {
                LOG.log(Level.FINE, "flow sink failed", e);
            }
        }
    }

    public EndpointIndex endpoints() {
        return endpointIndex;
    }

    public IdentityAllocator identities() {
        return identityAllocator;
    }

    public PolicyRepository policies() {
        return policyRepository;
    }
}

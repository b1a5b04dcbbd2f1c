package io.septum.services.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.Endpoint;
import io.septum.api.EndpointIndex;
import io.septum.api.EndpointListener;
import io.septum.api.EndpointSnapshot;
import io.septum.api.EndpointSpec;
import io.septum.api.EndpointState;
import io.septum.api.IpcacheEntry;
import io.septum.api.SourceHealth;
import io.septum.api.datapath.BpfEndpoint;
import io.septum.api.datapath.BpfPolicyEntry;
import io.septum.api.datapath.Datapath;
import io.septum.api.datapath.DatapathEndpoint;
import io.septum.api.datapath.DatapathException;
import io.septum.api.datapath.DatapathStats;
import io.septum.api.policy.PolicyEntry;
import io.septum.api.service.Service;
import io.septum.api.service.ServiceBackend;
import io.septum.api.service.ServiceSpec;
import io.septum.api.service.ServiceValidationException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The registry against an in-memory endpoint list and a datapath that records what it is given (the real
 * load balancer is tested with packets in septum-datapath-ebpf and end to end in ServicesIT).
 */
class ServiceRegistryTest {
    @TempDir
    Path dir;

    final List<Endpoint> endpoints = new CopyOnWriteArrayList<>();
    final List<List<Service>> synced = new CopyOnWriteArrayList<>();
    volatile boolean failSync;

    final Datapath datapath = new Datapath() {
        @Override public void syncServices(List<Service> services) throws DatapathException {
            if (failSync) throw new DatapathException("septum_lb_services: E2BIG (map full)");
            synced.add(services);
        }

        @Override public List<Service> services() {
            return synced.isEmpty() ? List.of() : synced.get(synced.size() - 1);
        }

        @Override public void upsertEndpoint(DatapathEndpoint endpoint, List<PolicyEntry> entries) {
        }

        @Override public void removeEndpoint(long endpointId) {
        }

        @Override public void syncIpcache(List<IpcacheEntry> entries) {
        }

        @Override public List<BpfEndpoint> restored() {
            return List.of();
        }

        @Override public List<BpfEndpoint> endpoints() {
            return List.of();
        }

        @Override public List<BpfPolicyEntry> policy(long endpointId) {
            return List.of();
        }

        @Override public List<IpcacheEntry> ipcache() {
            return List.of();
        }

        @Override public DatapathStats stats() {
            return null;
        }
    };

    /** The endpoints as an index: each change is a new snapshot, and listeners are told as the agent's are. */
    final List<EndpointListener> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** 1: the endpoint manager's first pass is done (revision 0 means not yet, and services wait for it). */
    final java.util.concurrent.atomic.AtomicLong revision = new java.util.concurrent.atomic.AtomicLong(1);
    final EndpointIndex manager = new EndpointIndex() {
        @Override public EndpointSnapshot snapshot() {
            return new EndpointSnapshot(revision.get(), List.copyOf(endpoints), List.of());
        }

        @Override public void addListener(EndpointListener l) {
            listeners.add(l);
        }

        @Override public void removeListener(EndpointListener l) {
            listeners.remove(l);
        }
    };

    void endpointsChanged() {
        revision.incrementAndGet();
        listeners.forEach(l -> l.endpointsChanged(manager.snapshot()));
    }

    static Endpoint ep(long id, String name, String ip, String netns) {
        return new Endpoint(id, name, "default", "netns", List.of(), 256, EndpointState.READY, List.of(ip),
                "veth" + id, 0, netns, false, false, Map.of(), 0, null);
    }

    ServiceRegistry registry() {
        return registry(Duration.ofMillis(100));
    }

    ServiceRegistry registry(Duration interval) {
        return new ServiceRegistry(new ServiceRegistry.Settings(dir.resolve("state"), dir.resolve("etc/services.yaml"),
                dir.resolve("netns"), interval, Duration.ofSeconds(2)), datapath, manager,
                new MacResolver(Duration.ofSeconds(2)));
    }

    @Test
    void nothingIsPushedBeforeTheEndpointManagersFirstPass() throws Exception {
        Files.createDirectories(dir.resolve("etc"));
        Files.writeString(dir.resolve("etc/services.yaml"), "services:\n- {name: deathstar, frontend: \"10.197.0.10:80\", backends: [deathstar-1]}\n");
        revision.set(0);
        ServiceRegistry r = registry();
        r.tick();
        assertTrue(synced.isEmpty(), "before the first snapshot the pinned load balancer is left as it is: " + synced);
        endpoints.add(ep(1, "deathstar-1", "10.199.16.1", null));
        revision.set(1);
        r.tick();
        assertEquals("10.199.16.1", synced.get(synced.size() - 1).get(0).backends().get(0).ip());
    }

    @Test
    void anEndpointChangeIsResolvedAtOnceNotAtTheNextTimerRound() throws Exception {
        ServiceRegistry r = registry(Duration.ofHours(1)); // the timer's first round runs at start, then never here
        try {
            r.upsert(new ServiceSpec("deathstar", null, "10.197.0.10:80", List.of("deathstar-1")));
            r.start();
            assertEquals(1, listeners.size(), "the registry listens to the endpoint index");
            assertEquals("not-found", r.get("deathstar").orElseThrow().backends().get(0).state());
            endpoints.add(ep(1, "deathstar-1", "10.199.16.1", null));
            endpointsChanged();
            io.septum.testsupport.Await.within(Duration.ofSeconds(5),
                    () -> "active".equals(r.get("deathstar").orElseThrow().backends().get(0).state()));
            assertEquals("10.199.16.1", r.get("deathstar").orElseThrow().backends().get(0).ip());
        } finally {
            r.close();
        }
        assertEquals(0, listeners.size(), "close stops listening");
    }

    @Test
    void listenersHearTheResolvedServicesAndTheirSnapshotOnceEachChange() throws Exception {
        ServiceRegistry r = registry(Duration.ofHours(1));
        List<String> heard = new CopyOnWriteArrayList<>();
        io.septum.api.service.ServiceListener l = (services, snapshot) -> heard.add(snapshot.revision() + ":"
                + services.stream().map(s -> s.name() + "=" + s.backends().get(0).state()).toList());
        try {
            r.start();
            r.addListener(l);
            io.septum.testsupport.Await.until("the first state", Duration.ofSeconds(5), () -> heard.size() == 1);
            assertEquals("1:[]", heard.get(0));
            r.upsert(new ServiceSpec("deathstar", null, "10.197.0.10:80", List.of("deathstar-1")));
            io.septum.testsupport.Await.until("the new service", Duration.ofSeconds(5), () -> heard.size() == 2);
            assertEquals("1:[deathstar=not-found]", heard.get(1));
            r.tick(); // the same services and snapshot: nothing to tell
            endpoints.add(ep(1, "deathstar-1", "10.199.16.1", null));
            endpointsChanged();
            io.septum.testsupport.Await.until("the backend found", Duration.ofSeconds(5), () -> heard.size() == 3);
            assertEquals("2:[deathstar=active]", heard.get(2));
            r.removeListener(l);
            List<String> other = new CopyOnWriteArrayList<>();
            r.addListener((services, snapshot) -> other.add(services.size() + ""));
            r.delete("deathstar");
            io.septum.testsupport.Await.until("the deletion, told to a listener still there", Duration.ofSeconds(5),
                    () -> other.contains("0"));
            assertEquals(3, heard.size(), "a removed listener hears nothing: " + heard);
        } finally {
            r.close();
        }
    }

    @Test
    void endpointBackendsAreResolvedFollowedAndPersisted() throws Exception {
        endpoints.add(ep(1, "deathstar-1", "10.199.16.1", "sept-t-ds1"));
        ServiceRegistry r = registry();
        Service s = r.upsert(new ServiceSpec("deathstar", null, "10.197.0.10:80", List.of("deathstar-1", "deathstar-2")));
        assertEquals(1, s.id());
        assertEquals(new ServiceBackend("default/deathstar-1", 80, "10.199.16.1", "active", null), s.backends().get(0));
        assertEquals(new ServiceBackend("default/deathstar-2", 80, null, "not-found", null), s.backends().get(1));
        assertEquals(s, synced.get(synced.size() - 1).get(0));

        // the second endpoint arrives, the first leaves: the next round follows both
        endpoints.add(ep(2, "deathstar-2", "10.199.16.2", null));
        endpoints.remove(0);
        r.tick();
        Service now = r.get("deathstar").orElseThrow();
        assertEquals("not-found", now.backends().get(0).state());
        assertEquals("10.199.16.2", now.backends().get(1).ip());
        assertEquals(now, synced.get(synced.size() - 1).get(0));

        // hosts file for the named namespace of deathstar-2? it has none; deathstar-1's was removed with it
        assertFalse(Files.exists(dir.resolve("netns/sept-t-ds1/hosts")));

        // a new registry (a restarted agent) has the same service with the same id
        ServiceRegistry again = registry();
        again.tick();
        assertEquals(now, again.get("1").orElseThrow());
    }

    @Test
    void hostsFilesNameTheServiceForNamedNamespaces() throws Exception {
        endpoints.add(ep(3, "tiefighter", "10.199.16.3", "sept-t-tf"));
        ServiceRegistry r = registry();
        r.upsert(new ServiceSpec("deathstar", null, "10.197.0.10:80", List.of()));
        String hosts = Files.readString(dir.resolve("netns/sept-t-tf/hosts"));
        assertTrue(hosts.startsWith(HostsFiles.MARKER), hosts);
        assertTrue(hosts.contains("10.197.0.10\tdeathstar.default.svc.cluster.local deathstar.default deathstar\n"), hosts);
        assertTrue(r.delete("deathstar"));
        assertFalse(Files.exists(dir.resolve("netns/sept-t-tf/hosts")));
    }

    @Test
    void aConflictingFrontendOrAFailingDatapathChangesNothing() throws Exception {
        ServiceRegistry r = registry();
        r.upsert(new ServiceSpec("deathstar", null, "10.197.0.10:80", List.of("10.199.16.1")));
        ServiceValidationException e = assertThrows(ServiceValidationException.class,
                () -> r.upsert(new ServiceSpec("other", null, "10.197.0.10:80/tcp", List.of())));
        assertEquals("service default/other: field frontend: 10.197.0.10:80/tcp is already the frontend of service default/deathstar",
                e.getMessage());
        failSync = true;
        e = assertThrows(ServiceValidationException.class,
                () -> r.upsert(new ServiceSpec("deathstar", null, "10.197.0.11:80", List.of())));
        assertTrue(e.getMessage().contains("E2BIG"), e.getMessage());
        assertEquals("10.197.0.10", r.get("deathstar").orElseThrow().frontendIp());
        assertEquals(1, r.list().size());
    }

    @Test
    void theConfigurationFileIsReadAllOrNothing() throws Exception {
        Files.createDirectories(dir.resolve("etc"));
        Files.writeString(dir.resolve("etc/services.yaml"), """
                services:
                  - name: deathstar
                    frontend: 10.197.0.10:80
                    backends: [deathstar-1, 10.199.16.9:8080]
                """);
        ServiceRegistry r = registry();
        r.tick();
        Service s = r.get("default/deathstar").orElseThrow();
        assertEquals(dir.resolve("etc/services.yaml").toString(), s.origin());
        assertEquals(8080, s.backends().get(1).port());
        assertThrows(IllegalArgumentException.class, () -> r.delete("deathstar"));

        Files.writeString(dir.resolve("etc/services.yaml"), """
                services:
                  - name: deathstar
                    frontend: 10.197.0.10:80
                  - name: bad
                    frontend: 10.197.0.11
                """);
        r.tick();
        assertEquals(2, r.get("deathstar").orElseThrow().backends().size(), "the last good file stays");
        assertEquals("degraded", r.health().state());
        assertTrue(r.health().message().contains("services[1]: service default/bad: field frontend: \"10.197.0.11\" has no port"),
                r.health().message());
    }
}

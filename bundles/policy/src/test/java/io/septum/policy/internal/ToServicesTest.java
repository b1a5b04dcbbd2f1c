package io.septum.policy.internal;

import static io.septum.policy.internal.CidrGroupTest.assertError;
import static io.septum.policy.internal.ResolveMatchesDecideTest.labels;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.Endpoint;
import io.septum.api.EndpointSnapshot;
import io.septum.api.EndpointState;
import io.septum.api.Labels;
import io.septum.api.policy.Direction;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicyListener;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.Protocol;
import io.septum.api.service.Service;
import io.septum.api.service.ServiceBackend;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code toServices}: a service's backends as egress peers, resolved against the agent's services. */
class ToServicesTest {
    private final PolicyEngineImpl engine = new PolicyEngineImpl();
    private static final Labels XWING = labels("k8s:app=xwing", "k8s:io.kubernetes.pod.namespace=empire");
    private static final Labels DEATHSTAR = labels("k8s:app=deathstar", "k8s:io.kubernetes.pod.namespace=empire");
    private static final Labels OTHER = labels("k8s:app=other", "k8s:io.kubernetes.pod.namespace=empire");
    private static final Labels OLD_BACKEND = labels("cidr:192.0.2.7/32", "reserved:world");
    private static final Labels STRANGER = labels("cidr:192.0.2.8/32", "reserved:world");

    static final String TO_DEATHSTAR = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: to-deathstar, namespace: empire}
            spec:
              endpointSelector: {matchLabels: {app: xwing}}
              egress:
              - toServices: [{k8sService: {serviceName: deathstar}}]
                toPorts: [{ports: [{port: '80', protocol: TCP}]}]
            """;

    private static Endpoint endpoint(String name, String ip, Labels labels) {
        return new Endpoint(7, name, "empire", "netns", labels.asStrings(), 300, EndpointState.READY,
                List.of(ip + "/24"), "veth0", 7, null, true, true, Map.of(), 1, null);
    }

    /** Service empire/deathstar: backend endpoint deathstar-1, an IP backend, and a backend that is not there. */
    static ServiceTargets targets() {
        EndpointSnapshot snap = new EndpointSnapshot(3, List.of(endpoint("deathstar-1", "10.0.0.5", DEATHSTAR),
                endpoint("other", "10.0.0.6", OTHER)), List.of());
        Service s = new Service(1, "deathstar", "empire", "10.96.0.10", 80, "TCP", Service.CLUSTER_IP, List.of(
                new ServiceBackend("empire/deathstar-1", 80, "10.0.0.5", ServiceBackend.ACTIVE, null),
                new ServiceBackend("192.0.2.7", 80, "192.0.2.7", ServiceBackend.ACTIVE, null),
                new ServiceBackend("empire/gone", 80, null, ServiceBackend.NOT_FOUND, null)), "api");
        return ServiceTargets.of(List.of(s), snap);
    }

    private static boolean out(PolicySet s, Labels peer, int port) {
        return s.decide(Direction.EGRESS, XWING, peer, port, Protocol.TCP, EnforcementMode.DEFAULT).allowed();
    }

    @Test
    void theServicesBackendsAreThePeers() throws Exception {
        PolicySet s = ((PolicySetImpl) engine.parse("p.yaml", TO_DEATHSTAR)).withServices(targets());
        assertTrue(out(s, DEATHSTAR, 80), "the endpoint backend's identity");
        assertTrue(out(s, OLD_BACKEND, 80), "the IP backend, as a CIDR");
        assertFalse(out(s, OTHER, 80), "an endpoint that is no backend");
        assertFalse(out(s, STRANGER, 80), "an address that is no backend");
        assertFalse(out(s, DEATHSTAR, 443), "toPorts still applies");
        // the IP backend gets a CIDR identity, as a toCIDR would
        assertEquals(List.of("192.0.2.7/32"), s.cidrPrefixes());
        String trace = String.join("\n", s.trace(XWING, DEATHSTAR, 80, Protocol.TCP, EnforcementMode.DEFAULT)
                .explanation());
        assertTrue(trace.contains("service deathstar (any namespace) (empire/deathstar-1, 192.0.2.7/32)"), trace);
    }

    @Test
    void unresolvedOrMissingServicesAllowNothing() throws Exception {
        PolicySet alone = engine.parse("p.yaml", TO_DEATHSTAR);
        assertFalse(out(alone, DEATHSTAR, 80), "no services known (offline)");
        assertFalse(out(alone, OTHER, 80), "the rule still selects xwing for egress: default deny");
        PolicySet elsewhere = ((PolicySetImpl) engine.parse("p.yaml", TO_DEATHSTAR.replace(
                "serviceName: deathstar}", "serviceName: deathstar, namespace: rebels}"))).withServices(targets());
        assertFalse(out(elsewhere, DEATHSTAR, 80), "rebels/deathstar does not exist");
        String trace = String.join("\n", elsewhere.trace(XWING, DEATHSTAR, 80, Protocol.TCP, EnforcementMode.DEFAULT)
                .explanation());
        assertTrue(trace.contains("service rebels/deathstar (no such service, or no active backends)"), trace);
    }

    @Test
    void withoutANamespaceItNamesTheServicesOfThatNameInEveryNamespace() throws Exception {
        ServiceTargets two = ServiceTargets.of(List.of(
                new Service(1, "db", "empire", "10.96.0.10", 80, "TCP", Service.CLUSTER_IP, List.of(
                        new ServiceBackend("192.0.2.7", 80, "192.0.2.7", ServiceBackend.ACTIVE, null)), "api"),
                new Service(2, "db", "rebels", "10.96.0.11", 80, "TCP", Service.CLUSTER_IP, List.of(
                        new ServiceBackend("192.0.2.8", 80, "192.0.2.8", ServiceBackend.ACTIVE, null)), "api"),
                new Service(3, "web", "rebels", "10.96.0.12", 80, "TCP", Service.CLUSTER_IP, List.of(
                        new ServiceBackend("192.0.2.9", 80, "192.0.2.9", ServiceBackend.ACTIVE, null)), "api")),
                EndpointSnapshot.EMPTY);
        String cw = """
                apiVersion: cilium.io/v2
                kind: CiliumClusterwideNetworkPolicy
                metadata: {name: to-db}
                spec:
                  endpointSelector: {}
                  egress:
                  - toServices: [{k8sService: {serviceName: db}}]
                """;
        PolicySet s = ((PolicySetImpl) engine.parse("p.yaml", cw)).withServices(two);
        assertTrue(out(s, OLD_BACKEND, 80), "empire/db");
        assertTrue(out(s, STRANGER, 80), "rebels/db");
        assertFalse(out(s, labels("cidr:192.0.2.9/32", "reserved:world"), 80), "rebels/web");
        String trace = String.join("\n", s.trace(XWING, OLD_BACKEND, 80, Protocol.TCP, EnforcementMode.DEFAULT)
                .explanation());
        assertTrue(trace.contains("service db (any namespace) (192.0.2.7/32, 192.0.2.8/32)"), trace);
        // in a namespaced policy too (Cilium matches an empty namespace as any)
        PolicySet cnp = ((PolicySetImpl) engine.parse("p.yaml", TO_DEATHSTAR.replace("deathstar}", "db}")))
                .withServices(two);
        assertTrue(out(cnp, STRANGER, 80), "rebels/db, from a policy of namespace empire");
    }

    @Test
    void toRequiresConstrainTheEndpointBackendsNotTheAddresses() throws Exception {
        PolicySet s = ((PolicySetImpl) engine.parse("p.yaml", TO_DEATHSTAR.replace("  - toServices:",
                "  - toRequires: [{matchLabels: {tier: back}}]\n  - toServices:"))).withServices(targets());
        assertFalse(out(s, DEATHSTAR, 80), "the endpoint backend lacks tier=back");
        assertTrue(out(s, OLD_BACKEND, 80), "an IP backend is a CIDR: never constrained");
    }

    @Test
    void mergingAndRemovingKeepTheServices() throws Exception {
        PolicySetImpl resolved = ((PolicySetImpl) engine.parse("p.yaml", TO_DEATHSTAR)).withServices(targets());
        PolicySet merged = resolved.merge(engine.parse("q.yaml", CidrGroupTest.group("vpn", "10.0.0.0/8")), 2);
        assertTrue(out(merged, DEATHSTAR, 80), "what policy impact compares: the draft merged into the agent's set");
        PolicySet without = merged.without("", "vpn").orElseThrow();
        assertTrue(out(without, DEATHSTAR, 80));
        // a set that names no service carries them all the same, for the policies merged into it later
        PolicySetImpl none = ((PolicySetImpl) engine.parse("q.yaml", CidrGroupTest.group("vpn", "10.0.0.0/8")))
                .withServices(targets());
        assertTrue(out(none.merge(engine.parse("p.yaml", TO_DEATHSTAR), 3), DEATHSTAR, 80));
        assertTrue(none == none.withServices(targets()), "the same services: the same set");
    }

    @Test
    void theRepositoryResolvesAgainWhenServicesChangeAndTellsListeners(@TempDir Path dir) throws Exception {
        PolicyRepositoryImpl r = new PolicyRepositoryImpl(dir, EnforcementMode.DEFAULT, engine);
        List<String> heard = new ArrayList<>();
        List<PolicySet> sets = new ArrayList<>();
        PolicyListener l = (rev, set, mode) -> {
            heard.add(Long.toString(rev));
            sets.add(set);
        };
        r.setListenersForTest(List.of(l));
        r.importPolicies("p.yaml", TO_DEATHSTAR);
        assertFalse(out(r.current(), DEATHSTAR, 80), "no services yet");
        EndpointSnapshot snap = new EndpointSnapshot(3, List.of(endpoint("deathstar-1", "10.0.0.5", DEATHSTAR)),
                List.of());
        Service s = new Service(1, "deathstar", "empire", "10.96.0.10", 80, "TCP", Service.CLUSTER_IP, List.of(
                new ServiceBackend("empire/deathstar-1", 80, "10.0.0.5", ServiceBackend.ACTIVE, null)), "api");
        r.servicesChanged(List.of(s), snap);
        assertTrue(out(r.current(), DEATHSTAR, 80));
        assertEquals(List.of("1", "1"), heard, "the same revision, told again with the services resolved");
        assertTrue(out(sets.get(1), DEATHSTAR, 80));
        r.servicesChanged(List.of(s), new EndpointSnapshot(4, snap.endpoints(), List.of()));
        assertEquals(2, heard.size(), "the same backends: nothing to tell");
        r.delete("empire", "to-deathstar");
        assertEquals(3, heard.size());
        r.servicesChanged(List.of(), snap);
        assertEquals(3, heard.size(), "no policy names a service: nothing to regenerate");
        r.importPolicies("p.yaml", TO_DEATHSTAR);
        assertFalse(out(r.current(), DEATHSTAR, 80), "imported after the service went");
        assertEquals(4, heard.size());
        // a later import keeps resolving against the services as they are now
        r.servicesChanged(List.of(s), snap);
        assertEquals(5, heard.size());
        r.importPolicies("q.yaml", CidrGroupTest.group("vpn", "10.0.0.0/8"));
        assertTrue(out(r.current(), DEATHSTAR, 80));
        // a normal stop: the services bundle's unbind says there are none (no endpoint snapshot); in memory only
        r.servicesChanged(List.of(), EndpointSnapshot.EMPTY);
        assertFalse(out(r.current(), DEATHSTAR, 80));
        // a restart resolves as before it, before the services bundle has told the new repository anything
        PolicyRepositoryImpl again = new PolicyRepositoryImpl(dir, EnforcementMode.DEFAULT, engine);
        assertTrue(out(again.current(), DEATHSTAR, 80));
        assertFalse(out(again.current(), OTHER, 80));
        String trace = String.join("\n", again.current().trace(XWING, DEATHSTAR, 80, Protocol.TCP,
                EnforcementMode.DEFAULT).explanation());
        assertTrue(trace.contains("service deathstar (any namespace) (empire/deathstar-1)"), trace);
    }

    @Test
    void theFileIsWrittenBeforeAnyPolicyMadeTheDirectory(@TempDir Path state) throws Exception {
        Path dir = state.resolve("policies");
        PolicyRepositoryImpl r = new PolicyRepositoryImpl(dir, EnforcementMode.DEFAULT, engine);
        r.servicesChanged(List.of(new Service(1, "deathstar", "empire", "10.96.0.10", 80, "TCP", Service.CLUSTER_IP,
                List.of(new ServiceBackend("192.0.2.7", 80, "192.0.2.7", ServiceBackend.ACTIVE, null)), "api")),
                new EndpointSnapshot(1, List.of(), List.of()));
        PolicyRepositoryImpl again = new PolicyRepositoryImpl(dir, EnforcementMode.DEFAULT, engine);
        again.importPolicies("p.yaml", TO_DEATHSTAR);
        assertTrue(out(again.current(), OLD_BACKEND, 80));
    }

    @Test
    void anUnreadableFileOfServicesIsIgnored(@TempDir Path dir) throws Exception {
        java.nio.file.Files.createDirectories(dir);
        java.nio.file.Files.writeString(dir.resolve(ServiceTargets.FILE), "{\"empire/deathstar\": {\"addresses\": [\"x\"]}}");
        PolicyRepositoryImpl r = new PolicyRepositoryImpl(dir, EnforcementMode.DEFAULT, engine);
        r.importPolicies("p.yaml", TO_DEATHSTAR);
        assertFalse(out(r.current(), OLD_BACKEND, 80), "nothing resolved from a damaged file");
        r.servicesChanged(List.of(new Service(1, "deathstar", "empire", "10.96.0.10", 80, "TCP", Service.CLUSTER_IP,
                List.of(new ServiceBackend("192.0.2.7", 80, "192.0.2.7", ServiceBackend.ACTIVE, null)), "api")),
                new EndpointSnapshot(1, List.of(), List.of()));
        assertTrue(out(r.current(), OLD_BACKEND, 80));
        assertTrue(java.nio.file.Files.readString(dir.resolve(ServiceTargets.FILE)).contains("192.0.2.7/32"),
                "written anew");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "spec.egress[0].toServices[0].k8sServiceSelector|[{k8sServiceSelector: {selector: {matchLabels: {a: b}}}}]|carry no labels",
            "spec.egress[0].toServices[0].k8sService.serviceName|[{k8sService: {namespace: empire}}]|missing serviceName",
            "spec.egress[0].toServices[0].k8sService.serviceName|[{k8sService: {serviceName: Death_Star}}]|lower-case letters",
            "spec.egress[0].toServices[0].k8sService.namespace|[{k8sService: {serviceName: a, namespace: [x]}}]|found a list",
            "spec.egress[0].toServices[0].k8sService.port|[{k8sService: {serviceName: a, port: 80}}]|unknown field",
            "spec.egress[0].toServices[0].k8sService|[{k8sService: deathstar}]|expected {serviceName",
            "spec.egress[0].toServices[0]|[deathstar]|expected {k8sService",
            "spec.egress[0].toServices|{k8sService: {serviceName: a}}|expected a list",
    })
    void badReferencesAreRefusedWithTheField(String field, String services, String reason) {
        assertError(TO_DEATHSTAR.replace("[{k8sService: {serviceName: deathstar}}]", services), field, reason);
    }

    @Test
    void toServicesIsAnEgressPeerOfItsOwnKind() {
        assertError(TO_DEATHSTAR.replace("egress:", "ingress:"), "spec.ingress[0].toServices",
                "services select destinations, in egress rules");
        // Cilium resolves toServices in egress rules only: in egressDeny it would deny nothing there
        assertError(TO_DEATHSTAR.replace("egress:", "egressDeny:").replace("    toPorts: [{ports: [{port: '80', protocol: TCP}]}]\n", ""),
                "spec.egressDeny[0].toServices", "not supported in egressDeny");
        assertError(TO_DEATHSTAR.replace("  - toServices:", "  - toEndpoints: [{}]\n    toServices:"),
                "spec.egress[0]", "combining toEndpoints and toServices");
    }
}

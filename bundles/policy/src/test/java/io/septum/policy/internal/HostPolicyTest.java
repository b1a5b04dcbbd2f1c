package io.septum.policy.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.Labels;
import io.septum.api.policy.Decision;
import io.septum.api.policy.Direction;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.Protocol;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Host policies (a CCNP rule with a nodeSelector), as Cilium's host firewall reads them: they select the host
 * endpoint (reserved:host plus the node's labels) and nothing else, and no endpointSelector selects the host.
 */
class HostPolicyTest {
    private final PolicyEngineImpl engine = new PolicyEngineImpl();

    static final Labels HOST_SSH = Labels.parse(List.of("reserved:host", "k8s:node-access=ssh"), "any");
    static final Labels HOST_OTHER = Labels.parse(List.of("reserved:host", "k8s:node-access=none"), "any");
    static final Labels WORLD = Labels.parse(List.of("reserved:world"), "any");
    static final Labels WEB = Labels.parse(List.of("k8s:app=web", "k8s:io.kubernetes.pod.namespace=default"), "any");

    private PolicySet parse(String yaml) throws io.septum.api.policy.PolicyValidationException {
        return engine.parse("host.yaml", yaml);
    }

    /** A CiliumClusterwideNetworkPolicy named {@code name} with {@code spec} (its lines indented by two). */
    private static String ccnp(String name, String spec) {
        return "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: " + name + "}\nspec:\n" + spec;
    }

    /** The decision over TCP in the default mode. */
    private static Decision decide(PolicySet set, Direction direction, Labels subject, Labels peer, int port) {
        return set.decide(direction, subject, peer, port, Protocol.TCP, EnforcementMode.DEFAULT);
    }

    private static final String SSH_AND_HTTP = ccnp("host-ssh-http", """
              nodeSelector: {matchLabels: {node-access: ssh}}
              ingress:
              - fromEntities: [world, cluster]
                toPorts: [{ports: [{port: "22", protocol: TCP}, {port: "80", protocol: TCP}]}]
            """);

    @Test
    void aNodeSelectorSelectsTheHostWithThoseLabelsOnly() throws Exception {
        PolicySet set = parse(SSH_AND_HTTP);
        Decision ssh = decide(set, Direction.INGRESS, HOST_SSH, WORLD, 22);
        assertTrue(ssh.allowed(), ssh.toString());
        assertTrue(ssh.rule().contains("host-ssh-http"), ssh.rule());
        assertTrue(decide(set, Direction.INGRESS, HOST_SSH, WORLD, 80).allowed());
        Decision other = decide(set, Direction.INGRESS, HOST_SSH, WORLD, 8080);
        assertFalse(other.allowed(), "the host is isolated once a host policy selects it: " + other);
        assertTrue(decide(set, Direction.INGRESS, HOST_SSH, WEB, 22).allowed(),
                "cluster includes the endpoints");

        // a host without the label is not selected; neither is any endpoint
        assertTrue(decide(set, Direction.INGRESS, HOST_OTHER, WORLD, 8080).allowed());
        assertTrue(decide(set, Direction.INGRESS, WEB, WORLD, 8080).allowed());
        // egress of the host is not touched by an ingress-only policy
        assertTrue(decide(set, Direction.EGRESS, HOST_SSH, WORLD, 443).allowed());
    }

    @Test
    void anEndpointSelectorNeverSelectsTheHost() throws Exception {
        PolicySet set = parse(ccnp("every-endpoint", """
                  endpointSelector: {}
                  ingress:
                  - fromEntities: [cluster]
                """));
        assertFalse(decide(set, Direction.INGRESS, WEB, WORLD, 80).allowed());
        assertTrue(decide(set, Direction.INGRESS, HOST_SSH, WORLD, 80).allowed(),
                "endpointSelector {} does not reach the host");

        // not even one that names reserved:host: its L7 rules would bypass the host policies' checks
        PolicySet named = parse(ccnp("names-the-host", """
                  endpointSelector: {matchLabels: {'reserved:host': ''}}
                  ingress:
                  - toPorts:
                    - ports: [{port: "80", protocol: TCP}]
                      rules: {http: [{method: GET}]}
                """));
        assertTrue(decide(named, Direction.INGRESS, HOST_SSH, WORLD, 8080).allowed(),
                "the host is not selected, so not isolated");
        var host = named.resolve(HOST_SSH, List.of(), List.of(io.septum.api.ReservedIdentity.WORLD.identity()),
                java.util.Map.of(), EnforcementMode.DEFAULT);
        assertFalse(host.ingressEnforced());
        assertTrue(host.entries().isEmpty(), host.entries().toString());
    }

    @Test
    void anEmptyNodeSelectorSelectsEveryHostAndEgressRulesApply() throws Exception {
        PolicySet set = parse(ccnp("host-egress", """
                  nodeSelector: {}
                  egress:
                  - toEndpoints: [{matchLabels: {app: web}}]
                    toPorts: [{ports: [{port: "8080"}]}]
                  egressDeny:
                  - toCIDR: [192.0.2.0/24]
                """));
        assertTrue(decide(set, Direction.EGRESS, HOST_OTHER, WEB, 8080).allowed());
        assertFalse(decide(set, Direction.EGRESS, HOST_OTHER, WEB, 9090).allowed());
        assertFalse(decide(set, Direction.EGRESS, HOST_OTHER, WORLD, 443).allowed());
        assertTrue(decide(set, Direction.EGRESS, WEB, WORLD, 443).allowed(),
                "endpoints are not selected by a host policy");
    }

    @Test
    void theHostsEntriesComeFromItsPoliciesOnly() throws Exception {
        PolicySet set = parse(SSH_AND_HTTP);
        List<io.septum.api.Identity> universe = java.util.Arrays.stream(io.septum.api.ReservedIdentity.values())
                .map(io.septum.api.ReservedIdentity::identity).toList();
        var host = set.resolve(HOST_SSH, List.of(), universe, java.util.Map.of(), EnforcementMode.DEFAULT);
        assertTrue(host.ingressEnforced());
        assertFalse(host.egressEnforced());
        assertEquals(List.of(22, 80), host.entries().stream().filter(e -> e.direction() == Direction.INGRESS)
                .map(e -> e.port()).distinct().sorted().toList());
        var web = set.resolve(WEB, List.of(), universe, java.util.Map.of(), EnforcementMode.DEFAULT);
        assertFalse(web.ingressEnforced());
        assertTrue(web.entries().isEmpty());
    }
}

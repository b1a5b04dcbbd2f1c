package io.septum.policy.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.Identity;
import io.septum.api.Label;
import io.septum.api.Labels;
import io.septum.api.policy.Decision;
import io.septum.api.policy.Direction;
import io.septum.api.policy.EndpointPolicy;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicyAction;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyEntry;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.Protocol;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Per-policy audit mode: {@code metadata.annotations["policy.septum.io/mode"]: audit}. */
class AuditModeTest {
    private final PolicyEngine engine = new PolicyEngineImpl();

    private static Labels ep(String app) {
        return Labels.parse(List.of("netns:app=" + app, "k8s:io.kubernetes.pod.namespace=default"), Label.ANY);
    }

    private static final String AUDIT = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata:
              name: trial
              annotations:
                policy.septum.io/mode: audit
            spec:
              endpointSelector: {matchLabels: {app: b}}
              ingress:
              - fromEndpoints: [{matchLabels: {app: c}}]
                toPorts: [{ports: [{port: "80", protocol: TCP}]}]
              ingressDeny:
              - fromEndpoints: [{matchLabels: {app: a}}]
                toPorts: [{ports: [{port: "80", protocol: TCP}]}]
            """;

    private static final String ENFORCING = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: real}
            spec:
              endpointSelector: {matchLabels: {app: b}}
              ingress:
              - fromEndpoints: [{matchLabels: {app: c}}]
                toPorts: [{ports: [{port: "443", protocol: TCP}]}]
            """;

    @Test
    void anAuditPolicyNeverDropsAndItsDefaultDenyBecomesAnAuditDefault() throws Exception {
        PolicySet set = engine.parse("t", AUDIT);
        assertTrue(set.policies().get(0).notes().stream().anyMatch(n -> n.startsWith("audit mode")));
        List<Identity> universe = List.of(new Identity(300, ep("a").asStrings(), false),
                new Identity(301, ep("b").asStrings(), false), new Identity(302, ep("c").asStrings(), false));
        EndpointPolicy p = set.resolve(ep("b"), universe, EnforcementMode.DEFAULT);
        assertTrue(p.ingressEnforced());
        assertTrue(p.entries().contains(PolicyEntry.auditDefault(Direction.INGRESS)), p.entries().toString());
        assertTrue(p.entries().stream().anyMatch(e -> e.identity() == 300 && e.action() == PolicyAction.DENY && e.audit()));
        assertTrue(p.entries().stream().anyMatch(e -> e.identity() == 302 && e.action() == PolicyAction.ALLOW && !e.audit()));

        Decision denied = set.decide(Direction.INGRESS, ep("b"), ep("a"), 80, Protocol.TCP, EnforcementMode.DEFAULT);
        assertTrue(denied.allowed());
        assertTrue(denied.rule().startsWith("audit: default/trial ingressDeny[0]"), denied.rule());
        Decision other = set.decide(Direction.INGRESS, ep("b"), ep("a"), 8050, Protocol.TCP, EnforcementMode.DEFAULT);
        assertTrue(other.allowed());
        assertTrue(other.rule().startsWith("audit: default deny"), other.rule());
        assertTrue(set.decide(Direction.INGRESS, ep("b"), ep("c"), 80, Protocol.TCP, EnforcementMode.DEFAULT).allowed());
        // mode always enforces every endpoint whatever selects it: no audit default then
        assertFalse(set.resolve(ep("b"), universe, EnforcementMode.ALWAYS).entries()
                .contains(PolicyEntry.auditDefault(Direction.INGRESS)));

        // An enforcing policy selecting the same direction: the default deny is real again, the audit deny stays audit.
        PolicySet both = engine.parse("t", AUDIT + "---\n" + ENFORCING);
        EndpointPolicy q = both.resolve(ep("b"), universe, EnforcementMode.DEFAULT);
        assertFalse(q.entries().contains(PolicyEntry.auditDefault(Direction.INGRESS)), q.entries().toString());
        assertFalse(both.decide(Direction.INGRESS, ep("b"), ep("a"), 8050, Protocol.TCP, EnforcementMode.DEFAULT).allowed());
        assertTrue(both.decide(Direction.INGRESS, ep("b"), ep("a"), 80, Protocol.TCP, EnforcementMode.DEFAULT).allowed());
        // egress is selected by no policy: untouched
        assertTrue(q.entries().stream().noneMatch(e -> e.direction() == Direction.EGRESS));
    }

    @Test
    void anUnknownModeIsRefusedWithItsField() {
        PolicyValidationException e = assertThrows(PolicyValidationException.class,
                () -> engine.parse("bad.yaml", AUDIT.replace("mode: audit", "mode: dry-run")));
        assertTrue(e.getMessage().contains("policy.septum.io/mode"), e.getMessage());
        assertTrue(e.getMessage().contains("dry-run"), e.getMessage());
        assertEquals(1, e.errors().size());
    }
}

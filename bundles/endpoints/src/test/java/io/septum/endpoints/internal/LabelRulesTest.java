package io.septum.endpoints.internal;

import io.septum.api.EndpointSpec;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class LabelRulesTest {
    static EndpointSpec spec(String ns, Map<String, String> labels) {
        return new EndpointSpec("id", "web", ns, labels, "veth0", null, List.of(), null, Map.of());
    }

    @Test
    void ownPrefixIsAcceptedOthersAreDropped() {
        var r = LabelRules.build("docker", spec("prod", Map.of("docker:app", "web", "tier", "front",
                "netns:app", "db", "k8s:io.cilium.k8s.namespace.labels.env", "prod",
                "io.cilium.k8s.namespace.labels.env", "prod")), Map.of("env", "staging"));
        assertNull(r.refusal());
        assertEquals(List.of("docker:app=web", "docker:tier=front",
                "k8s:io.cilium.k8s.namespace.labels.env=staging", "k8s:io.kubernetes.pod.namespace=prod"),
                r.labels().asStrings());
        assertEquals(3, r.problems().size(), r.problems().toString());
    }

    @Test
    void namespaceMustBeADnsLabel() {
        assertNull(LabelRules.build("netns", spec(null, Map.of()), null).refusal());
        assertEquals("default", LabelRules.build("netns", spec("", Map.of()), null).namespace());
        for (String bad : List.of("Prod", "a_b", "-a", "a-", "x".repeat(64), "a/b", "kube system")) {
            assertNotNull(LabelRules.build("netns", spec(bad, Map.of()), null).refusal(), bad);
        }
    }

    @Test
    void sourceNamesAreChecked() {
        assertNull(LabelRules.checkSourceName("netns"));
        assertNotNull(LabelRules.checkSourceName("reserved"));
        assertNotNull(LabelRules.checkSourceName("cidr"));
        assertNotNull(LabelRules.checkSourceName("Net:ns"));
    }

    @Test
    void valuesAreSane() {
        var r = LabelRules.build("netns", spec(null, Map.of("a", "x=y", "b", "with space", "c", "ok-1.2_3",
                "d", "", "e", "v".repeat(64))), null);
        assertEquals(List.of("k8s:io.kubernetes.pod.namespace=default", "netns:c=ok-1.2_3", "netns:d="),
                r.labels().asStrings());
        assertEquals(3, r.problems().size());
    }
}

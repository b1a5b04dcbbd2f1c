package io.septum.policy.internal;

import static io.septum.policy.internal.ResolveMatchesDecideTest.labels;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.Labels;
import io.septum.api.policy.Direction;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.Protocol;
import io.septum.api.policy.ValidationError;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code CiliumCIDRGroup} and the {@code cidrGroupRef} of Cilium's CIDR sets. */
class CidrGroupTest {
    private final PolicyEngineImpl engine = new PolicyEngineImpl();
    private static final Labels WEB = labels("k8s:app=web", "k8s:io.kubernetes.pod.namespace=default");
    private static final Labels VPN_HOST = labels("cidr:10.48.0.7/32", "reserved:world");
    private static final Labels OFFICE_HOST = labels("cidr:10.16.3.1/32", "reserved:world");
    private static final Labels OTHER_HOST = labels("cidr:10.99.0.1/32", "reserved:world");

    static String group(String name, String... cidrs) {
        return "apiVersion: cilium.io/v2alpha1\nkind: CiliumCIDRGroup\nmetadata: {name: " + name + "}\n"
                + "spec:\n  externalCIDRs: [" + String.join(", ", cidrs) + "]\n";
    }

    static final String FROM_VPN = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: from-vpn}
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress:
              - fromCIDRSet: [{cidrGroupRef: vpn}]
                toPorts: [{ports: [{port: '443'}]}]
            """;

    private static boolean in(PolicySet s, Labels peer, int port) {
        return s.decide(Direction.INGRESS, WEB, peer, port, Protocol.TCP, EnforcementMode.DEFAULT).allowed();
    }

    @Test
    void aGroupsCidrsAreWhatItsReferenceAllows() throws Exception {
        PolicySet s = engine.parse("f.yaml", group("vpn", "10.48.0.0/24", "10.16.0.0/16") + "---\n" + FROM_VPN);
        assertTrue(in(s, VPN_HOST, 443));
        assertTrue(in(s, OFFICE_HOST, 443));
        assertFalse(in(s, OTHER_HOST, 443), "outside the group");
        assertFalse(in(s, VPN_HOST, 80), "another port");
        // the group's CIDRs get CIDR identities, as toCIDR's do
        assertEquals(List.of("10.16.0.0/16", "10.48.0.0/24"), s.cidrPrefixes());
        PolicyInfo g = s.policies().stream().filter(p -> p.kind().equals("CiliumCIDRGroup")).findFirst().orElseThrow();
        assertEquals("vpn", g.name());
        assertEquals("", g.namespace(), "cluster-wide");
        assertTrue(g.rules().isEmpty(), "a group allows nothing by itself");
        assertEquals(List.of("CIDR group: 2 CIDR(s): 10.48.0.0/24, 10.16.0.0/16; policies name it with cidrGroupRef"),
                g.notes());
    }

    @Test
    void aReferenceToNoGroupAllowsNothingUntilTheGroupComes() throws Exception {
        PolicySet alone = engine.parse("p.yaml", FROM_VPN);
        assertFalse(in(alone, VPN_HOST, 443), "no such group: nothing allowed");
        assertTrue(alone.cidrPrefixes().isEmpty());
        // the group imported later (a merge, as the repository does) is what the reference takes from then on
        PolicySet both = alone.merge(engine.parse("g.yaml", group("vpn", "10.48.0.0/24")), 2);
        assertTrue(in(both, VPN_HOST, 443));
        assertFalse(in(both, OFFICE_HOST, 443));
        // changed: the old CIDR no longer allowed, the new one is
        PolicySet changed = both.merge(engine.parse("g.yaml", group("vpn", "10.16.0.0/16")), 3);
        assertFalse(in(changed, VPN_HOST, 443));
        assertTrue(in(changed, OFFICE_HOST, 443));
        // deleted: nothing again
        PolicySet deleted = changed.without("", "vpn").orElseThrow();
        assertFalse(in(deleted, OFFICE_HOST, 443));
    }

    @Test
    void aGroupInADenySectionDenies() throws Exception {
        PolicySet s = engine.parse("f.yaml", group("bad", "10.99.0.0/16") + """
                ---
                apiVersion: cilium.io/v2
                kind: CiliumNetworkPolicy
                metadata: {name: all-but-bad}
                spec:
                  endpointSelector: {matchLabels: {app: web}}
                  ingress:
                  - fromCIDRSet: [{cidr: 10.0.0.0/8}]
                  ingressDeny:
                  - fromCIDRSet: [{cidrGroupRef: bad}]
                """);
        assertTrue(in(s, VPN_HOST, 443));
        assertFalse(in(s, OTHER_HOST, 443), "the group's CIDR is denied");
    }

    @Test
    void anEmptyGroupIsValidAndAllowsNothing() throws Exception {
        PolicySet s = engine.parse("f.yaml", group("vpn") + "---\n" + FROM_VPN);
        assertFalse(in(s, VPN_HOST, 443));
    }

    static String labelled(String name, String labels, String... cidrs) {
        return group(name, cidrs).replace("metadata: {name: " + name + "}", "metadata: {name: " + name + ", labels: "
                + labels + "}");
    }

    private static String fromSelected(String selector) {
        return FROM_VPN.replace("{cidrGroupRef: vpn}", "{cidrGroupSelector: " + selector + "}");
    }

    @Test
    void aSelectorTakesTheCidrsOfEveryGroupWhoseLabelsItSelects() throws Exception {
        String groups = labelled("vpn", "{team: net}", "10.48.0.0/24") + "---\n"
                + labelled("office", "{team: net, site: hq}", "10.16.0.0/16") + "---\n"
                + labelled("other", "{team: x}", "10.99.0.0/16") + "---\n";
        PolicySet s = engine.parse("f.yaml", groups + fromSelected("{matchLabels: {team: net}}"));
        assertTrue(in(s, VPN_HOST, 443));
        assertTrue(in(s, OFFICE_HOST, 443));
        assertFalse(in(s, OTHER_HOST, 443), "a group the selector does not select");
        assertEquals(List.of("10.16.0.0/16", "10.48.0.0/24"), s.cidrPrefixes());
        String trace = String.join("\n", s.trace(OFFICE_HOST, WEB, 443, Protocol.TCP, EnforcementMode.DEFAULT)
                .explanation());
        assertTrue(trace.contains("cidr groups {team=net} (10.16.0.0/16,10.48.0.0/24)"), trace);
        // expressions and a source-qualified key, as in endpoint selectors
        PolicySet notNet = engine.parse("f.yaml", groups
                + fromSelected("{matchExpressions: [{key: 'k8s:team', operator: NotIn, values: [net]}]}"));
        assertTrue(in(notNet, OTHER_HOST, 443));
        assertFalse(in(notNet, VPN_HOST, 443));
        // {} selects every group
        PolicySet all = engine.parse("f.yaml", groups + fromSelected("{}"));
        assertTrue(in(all, VPN_HOST, 443) && in(all, OFFICE_HOST, 443) && in(all, OTHER_HOST, 443));
    }

    @Test
    void aGroupsLabelsChangedLaterChangeWhatTheSelectorTakes() throws Exception {
        PolicySet s = engine.parse("p.yaml", fromSelected("{matchLabels: {team: net}}"));
        assertFalse(in(s, VPN_HOST, 443), "no group yet");
        PolicySet with = s.merge(engine.parse("g.yaml", labelled("vpn", "{team: net}", "10.48.0.0/24")), 2);
        assertTrue(in(with, VPN_HOST, 443));
        PolicySet relabelled = with.merge(engine.parse("g.yaml", labelled("vpn", "{team: ops}", "10.48.0.0/24")), 3);
        assertFalse(in(relabelled, VPN_HOST, 443), "the group no longer carries the selected label");
        assertTrue(relabelled.cidrPrefixes().isEmpty());
    }

    @Test
    void aGroupsLabelsMustBeAMapOfStrings() {
        assertError(labelled("vpn", "{team: [net]}", "10.48.0.0/24"), "metadata.labels.team", "expected a label value");
        assertError(labelled("vpn", "[team]", "10.48.0.0/24"), "metadata.labels", "expected a map");
    }

    @Test
    void theTraceNamesTheGroupAndItsCidrs() throws Exception {
        PolicySet s = engine.parse("f.yaml", group("vpn", "10.48.0.0/24") + "---\n" + FROM_VPN);
        String trace = String.join("\n", s.trace(VPN_HOST, WEB, 443, Protocol.TCP, EnforcementMode.DEFAULT)
                .explanation());
        assertTrue(trace.contains("cidr group vpn (10.48.0.0/24)"), trace);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "spec.ingress[0].fromCIDRSet[0].cidrGroupRef|{cidrGroupRef: vpn, cidr: 10.0.0.0/8}|one of cidr, cidrGroupRef and cidrGroupSelector, not several",
            "spec.ingress[0].fromCIDRSet[0].cidrGroupRef|{cidrGroupRef: vpn, cidrGroupSelector: {}}|not several",
            "spec.ingress[0].fromCIDRSet[0].except|{cidrGroupRef: vpn, except: [10.48.0.0/28]}|except cannot be used with cidrGroupRef",
            "spec.ingress[0].fromCIDRSet[0].cidrGroupRef|{cidrGroupRef: VPN}|expected the name of a CiliumCIDRGroup",
            "spec.ingress[0].fromCIDRSet[0].cidrGroupRef|{cidrGroupRef: [vpn]}|found a list",
            "spec.ingress[0].fromCIDRSet[0].except|{cidrGroupSelector: {}, except: [10.48.0.0/28]}|except cannot be used with cidrGroupSelector",
            "spec.ingress[0].fromCIDRSet[0].cidrGroupSelector.matchLabels|{cidrGroupSelector: {matchLabels: [a]}}|expected a map",
            "spec.ingress[0].fromCIDRSet[0].cidrGroupSelector|{cidrGroupSelector: 3}|expected a label selector",
            "spec.ingress[0].fromCIDRSet[0].cidr|{}|missing cidr (or cidrGroupRef or cidrGroupSelector)",
    })
    void badReferencesAreRefusedWithTheField(String field, String set, String reason) {
        assertError(FROM_VPN.replace("{cidrGroupRef: vpn}", set), field, reason);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "spec.externalCIDRs[1]|spec: {externalCIDRs: [10.0.0.0/8, 10.0.0.300/32]}|invalid CIDR",
            "spec.externalCIDRs|spec: {}|missing externalCIDRs",
            "spec.externalCIDRs|spec: {externalCIDRs: 10.0.0.0/8}|expected a list",
            "spec.other|spec: {externalCIDRs: [], other: 1}|unknown field",
            "spec|spec: 3|needs spec with externalCIDRs",
            "metadata.name|spec: {externalCIDRs: []}\\nmetadata: {name: Not_A_Name}|invalid name",
    })
    void badGroupsAreRefusedWithTheField(String field, String spec, String reason) {
        String doc = "apiVersion: cilium.io/v2alpha1\nkind: CiliumCIDRGroup\n" + (spec.contains("metadata") ? ""
                : "metadata: {name: g}\n") + spec.replace("\\n", "\n") + "\n";
        assertError(doc, field, reason);
    }

    @Test
    void aNetworkPolicysIpBlockHasNoGroups() {
        assertError("""
                apiVersion: networking.k8s.io/v1
                kind: NetworkPolicy
                metadata: {name: k}
                spec:
                  podSelector: {}
                  ingress:
                  - from: [{ipBlock: {cidrGroupRef: vpn}}]
                """, "spec.ingress[0].from[0].ipBlock.cidrGroupRef", "not supported in a NetworkPolicy's ipBlock");
    }

    @Test
    void theGroupsApiVersionsAreV2alpha1AndV2() throws Exception {
        engine.parse("f.yaml", group("vpn", "10.0.0.0/8").replace("v2alpha1", "v2"));
        assertError(group("vpn", "10.0.0.0/8").replace("v2alpha1", "v1"), "apiVersion", "cilium.io/v2alpha1 or cilium.io/v2");
    }

    @Test
    void theRepositoryKeepsAGroupAndItsPoliciesFollowIt(@TempDir Path dir) throws Exception {
        PolicyRepositoryImpl repo = new PolicyRepositoryImpl(dir, EnforcementMode.DEFAULT, engine);
        repo.importPolicies("p.yaml", FROM_VPN);
        assertFalse(in(repo.current(), VPN_HOST, 443));
        repo.importPolicies("g.yaml", group("vpn", "10.48.0.0/24"));
        assertTrue(in(repo.current(), VPN_HOST, 443));
        // it survives a restart of the repository (the store keeps its document)
        PolicyRepositoryImpl again = new PolicyRepositoryImpl(dir, EnforcementMode.DEFAULT, engine);
        assertTrue(in(again.current(), VPN_HOST, 443));
        again.delete("", "vpn", "test");
        assertFalse(in(again.current(), VPN_HOST, 443));
    }

    static final String CCNP_VPN = """
            apiVersion: cilium.io/v2
            kind: CiliumClusterwideNetworkPolicy
            metadata: {name: vpn}
            spec:
              endpointSelector: {}
              egress:
              - toEntities: [cluster]
            """;

    @Test
    void aGroupAndAClusterwidePolicyCannotShareAName(@TempDir Path dir) throws Exception {
        assertError(group("vpn", "10.0.0.0/8") + "---\n" + CCNP_VPN, "metadata.name", "may not share it");
        PolicyRepositoryImpl repo = new PolicyRepositoryImpl(dir, EnforcementMode.DEFAULT, engine);
        repo.importPolicies("cw.yaml", CCNP_VPN);
        long before = repo.revision();
        PolicyValidationException e = assertThrows(PolicyValidationException.class,
                () -> repo.importPolicies("g.yaml", group("vpn", "10.0.0.0/8")));
        assertTrue(e.errors().get(0).reason().contains("a CiliumClusterwideNetworkPolicy has this name"), e.getMessage());
        assertEquals(before, repo.revision(), "nothing changed");
        // a namespaced policy of that name is another object: no clash
        repo.importPolicies("p.yaml", FROM_VPN.replace("name: from-vpn", "name: vpn"));
    }

    @Test
    void aGroupHasNoMode(@TempDir Path dir) throws Exception {
        assertError(group("vpn", "10.0.0.0/8").replace("metadata: {name: vpn}",
                        "metadata: {name: vpn, annotations: {policy.septum.io/mode: audit}}"),
                "metadata.annotations[policy.septum.io/mode]", "a CiliumCIDRGroup has no mode");
        PolicyRepositoryImpl repo = new PolicyRepositoryImpl(dir, EnforcementMode.DEFAULT, engine);
        repo.importPolicies("g.yaml", group("vpn", "10.0.0.0/8"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> repo.setMode("", "vpn", "audit", "alice"));
        assertTrue(e.getMessage().contains("is a CiliumCIDRGroup: it has no mode"), e.getMessage());
    }

    /** The document is refused with an error on {@code field} whose reason contains {@code reason}. */
    static void assertError(String yaml, String field, String reason) {
        List<ValidationError> errs = assertThrows(PolicyValidationException.class,
                () -> new PolicyEngineImpl().parse("f.yaml", yaml)).errors();
        String all = errs.stream().map(e -> e.field() + ": " + e.reason()).collect(Collectors.joining("\n"));
        assertTrue(errs.stream().anyMatch(e -> e.field().equals(field) && e.reason().contains(reason)),
                () -> "no error on " + field + " with \"" + reason + "\" in:\n" + all);
    }
}

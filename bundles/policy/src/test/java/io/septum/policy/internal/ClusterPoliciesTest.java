package io.septum.policy.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.policy.ClusterPolicy;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicyValidationException;
import io.septum.kvstore.etcd.internal.EtcdClient;
import io.septum.kvstore.etcd.internal.LeaseSession;
import io.septum.kvstore.etcd.internal.PolicySync;
import io.septum.kvstore.etcd.internal.TestEtcd;
import io.septum.testsupport.Await;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Cluster policies through the real pieces: two nodes' repositories and engines, each with its PolicySync, one etcd. */
class ClusterPoliciesTest {
    /** One etcd for the class; each test starts on an empty cluster (its nodes closed first, then septum/ deleted). */
    @RegisterExtension
    static final TestEtcd.PerClass etcd = TestEtcd.PerClass.emptiedAfterEach("septum/");

    @TempDir
    Path dir;
    final List<AutoCloseable> closing = new ArrayList<>();

    static final String WEB = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: web, namespace: prod}\n"
            + "spec:\n  endpointSelector: {matchLabels: {app: web}}\n  ingress:\n"
            + "  - fromEndpoints: [{matchLabels: {app: lb}}]\n    toPorts: [{ports: [{port: '443', protocol: TCP}]}]\n";
    static final String CCNP = "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: cw}\n"
            + "spec:\n  endpointSelector: {}\n  egress:\n  - toEntities: [cluster]\n";

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closing) c.close();
    }

    record Node(PolicyRepositoryImpl repo, PolicySync sync) {
    }

    Node node(String name) throws Exception {
        EtcdClient client = etcd.client();
        LeaseSession lease = new LeaseSession(client, 30);
        PolicyEngineImpl engine = new PolicyEngineImpl();
        PolicyRepositoryImpl repo = new PolicyRepositoryImpl(dir.resolve(name), EnforcementMode.DEFAULT, engine);
        PolicySync sync = new PolicySync(client, lease, name, () -> engine, () -> repo);
        sync.start();
        closing.add(0, client);
        closing.add(0, lease);
        closing.add(0, sync);
        return new Node(repo, sync);
    }

    static void await(String what, BooleanSupplier c) throws InterruptedException {
        Await.until(what, Duration.ofSeconds(30), c); // through etcd, which fsyncs every write
    }

    @Test
    void aPolicyImportedOnOneNodeIsEnforcedOnEveryNodeAndDeletedEverywhere() throws Exception {
        Node a = node("node-a");
        Node b = node("node-b");
        List<ClusterPolicy> stored = a.sync().importPolicies(WEB + "---\n" + CCNP);
        assertEquals(2, stored.size());
        for (Node n : List.of(a, b)) {
            await("both policies in the repository", () -> n.repo().get("prod", "web").isPresent() && n.repo().get("", "cw").isPresent());
            assertEquals("cluster:septum/state/policies/v1/prod/web", n.repo().get("prod", "web").orElseThrow().origin());
        }
        // each node says which revision it has realised (the endpoint manager calls this after a pass)
        a.sync().realized(a.repo().revision(), 0, 0);
        b.sync().realized(b.repo().revision(), 0, 0);
        await("both nodes realised both", () -> a.sync().list().stream().allMatch(p -> p.realized().keySet().containsAll(List.of("node-a", "node-b"))
                && p.realized().values().stream().allMatch(r -> r == p.revision())));

        assertTrue(a.sync().delete("prod", "web"));
        for (Node n : List.of(a, b)) await("gone everywhere", () -> n.repo().get("prod", "web").isEmpty());
        assertTrue(b.repo().get("", "cw").isPresent(), "the other one stays");
    }

    @Test
    void everyNodesHistoryNamesWhoStoredAClusterPolicy() throws Exception {
        Node a = node("node-a");
        Node b = node("node-b");
        // control characters from whoever writes the store do not reach a terminal that shows the history
        a.sync().importPolicies(WEB, "web UI (alice)\u001b[2J");
        a.sync().importPolicies(CCNP);
        for (Node n : List.of(a, b)) {
            await("both policies in the repository", () -> n.repo().get("prod", "web").isPresent() && n.repo().get("", "cw").isPresent());
            assertEquals("web UI (alice) [2J via cluster (etcd)", n.repo().history("prod", "web", 10).get(0).author());
            assertEquals("cluster (etcd)", n.repo().history("", "cw", 10).get(0).author(), "no author given");
        }
        String longName = "x".repeat(500);
        a.sync().importPolicies(WEB.replace("443", "8443"), longName);
        await("the change on node b", () -> b.repo().history("prod", "web", 10).size() == 2);
        assertEquals("x".repeat(200) + " via cluster (etcd)", b.repo().history("prod", "web", 10).get(0).author());
    }

    @Test
    void aNodeCannotStagePromoteOrRollBackItsCopyOfAClusterPolicy() throws Exception {
        Node a = node("node-a");
        a.sync().importPolicies(WEB);
        await("imported", () -> a.repo().get("prod", "web").isPresent());
        long before = a.repo().revision();
        IllegalStateException stage = assertThrows(IllegalStateException.class,
                () -> a.repo().setMode("prod", "web", "audit", "alice"));
        assertTrue(stage.getMessage().contains("is a cluster policy (cluster:septum/state/policies/v1/prod/web)")
                && stage.getMessage().contains("septum policy import --cluster"), stage.getMessage());
        a.sync().importPolicies(WEB.replace("443", "8443"));
        await("changed", () -> a.repo().get("prod", "web").orElseThrow().document().contains("8443"));
        IllegalStateException back = assertThrows(IllegalStateException.class,
                () -> a.repo().rollback("prod", "web", before, "alice"));
        assertTrue(back.getMessage().contains("is a cluster policy") && back.getMessage().contains("roll it back there"),
                back.getMessage());
        assertTrue(a.repo().get("prod", "web").orElseThrow().document().contains("8443"), "nothing changed here");
        // once the store drops it, the name is free for a local policy again, which stages as usual
        assertTrue(a.sync().delete("prod", "web"));
        await("dropped", () -> a.repo().get("prod", "web").isEmpty());
        long dropped = a.repo().revision();
        a.repo().importPolicies("local.yaml", WEB, "alice");
        a.repo().setMode("prod", "web", "audit", "alice");
        // back to where the store had dropped it (absent): a local change, allowed; to where the store had it: refused
        a.repo().rollback("prod", "web", dropped, "alice");
        assertTrue(a.repo().get("prod", "web").isEmpty());
        IllegalStateException toCluster = assertThrows(IllegalStateException.class,
                () -> a.repo().rollback("prod", "web", before, "alice"));
        assertTrue(toCluster.getMessage().contains("prod/web at revision " + before + " is a cluster policy"),
                toCluster.getMessage());
    }

    @Test
    void stagePromoteAndRollbackOfAClusterPolicyActOnTheStoreForEveryNode() throws Exception {
        Node a = node("node-a");
        Node b = node("node-b");
        a.repo().clusterPolicies(a.sync());
        b.repo().clusterPolicies(b.sync());
        // node a's history starts before the cluster policy (a local policy first), so it can roll back to "absent"
        a.repo().importPolicies("other.yaml", CCNP.replace("name: cw", "name: other"), "alice");
        long beforeWeb = a.repo().revision();
        a.sync().importPolicies(WEB, "alice");
        for (Node n : List.of(a, b)) await("imported", () -> n.repo().get("prod", "web").isPresent());
        long importedOnB = b.repo().revision();
        // staged on node a: the store holds the audit-mode document, and every node enforces it so
        long staged = a.repo().setMode("prod", "web", "audit", "alice");
        assertTrue(a.repo().get("prod", "web").orElseThrow().document().contains("policy.septum.io/mode: audit"),
                "node a has it when the call returns");
        assertEquals(staged, a.repo().revision());
        await("node b in audit mode", () -> b.repo().get("prod", "web").orElseThrow().document()
                .contains("policy.septum.io/mode: audit"));
        assertEquals("alice via cluster (etcd)", b.repo().history("prod", "web", 10).get(0).author());
        // promoted from node b
        b.repo().setMode("prod", "web", "enforce", "bob");
        for (Node n : List.of(a, b)) {
            await("enforced again (no mode annotation)", () -> !n.repo().get("prod", "web").orElseThrow().document()
                    .contains("policy.septum.io/mode"));
        }
        // node a rolls back to where it was staged: the store gets that document again
        a.repo().rollback("prod", "web", staged, "alice");
        for (Node n : List.of(a, b)) {
            await("audit again", () -> n.repo().get("prod", "web").orElseThrow().document()
                    .contains("policy.septum.io/mode: audit"));
        }
        // to before this node had it: no record says the cluster had no such policy then (the node may have joined
        // later), so removing it everywhere is refused
        IllegalStateException unknown = assertThrows(IllegalStateException.class,
                () -> a.repo().rollback("prod", "web", beforeWeb, "alice"));
        assertTrue(unknown.getMessage().contains("no record of prod/web at or before revision " + beforeWeb),
                unknown.getMessage());
        assertEquals(1, a.sync().list().size(), "the store still has it");
        // removed from the store, then brought back by node b, whose history has it as a cluster policy
        assertTrue(a.sync().delete("prod", "web"));
        for (Node n : List.of(a, b)) await("gone", () -> n.repo().get("prod", "web").isEmpty());
        long deletedOnA = a.repo().revision();
        b.repo().rollback("prod", "web", importedOnB, "bob");
        for (Node n : List.of(a, b)) await("restored", () -> n.repo().get("prod", "web").isPresent());
        assertEquals(1, a.sync().list().size());
        // and to where node a's history records it deleted: removed from the store again, for every node
        a.repo().rollback("prod", "web", deletedOnA, "alice");
        assertTrue(a.sync().list().isEmpty(), "the store no longer has it");
        await("gone from node b again", () -> b.repo().get("prod", "web").isEmpty());
        b.repo().rollback("prod", "web", importedOnB, "bob");
        for (Node n : List.of(a, b)) await("restored again", () -> n.repo().get("prod", "web").isPresent());
        // a node with no store (out of cluster mode) still refuses, naming the store
        a.repo().clusterPolicies(null);
        IllegalStateException refused = assertThrows(IllegalStateException.class,
                () -> a.repo().setMode("prod", "web", "audit", "alice"));
        assertTrue(refused.getMessage().contains("cluster mode is not running on this node"), refused.getMessage());
    }

    @Test
    void aRevisionRealisedBeforeItsImportWasRecordedStillCounts() throws Exception {
        Node a = node("node-a");
        Node b = node("node-b");
        // the endpoint manager's pass for the next revision ends before the sync has recorded what it imported (a
        // pass runs as soon as the repository announces the revision): that import is realised all the same
        a.sync().realized(a.repo().revision() + 1, 0, 0);
        b.sync().realized(b.repo().revision() + 1, 0, 0);
        a.sync().importPolicies(WEB);
        await("both nodes report it realised", () -> a.sync().list().stream().allMatch(p -> p.realized().keySet()
                .containsAll(List.of("node-a", "node-b")) && p.realized().values().stream().allMatch(r -> r == p.revision())));
    }

    @Test
    void aClusterPolicyAndALocalOneMayNotShareAName() throws Exception {
        Node a = node("node-a");
        Node b = node("node-b");
        a.repo().importPolicies("web.yaml", WEB);
        PolicyValidationException e = assertThrows(PolicyValidationException.class, () -> a.sync().importPolicies(WEB));
        assertTrue(e.getMessage().contains("local policy of that name") && e.getMessage().contains("web.yaml"), e.getMessage());
        assertTrue(a.sync().list().isEmpty(), "nothing was stored");

        // a node with a local policy of the name another node stores: it keeps its own and says why it refused
        b.sync().importPolicies(WEB);
        await("node-a records the refusal", () -> a.repo().rejected().stream().anyMatch(r -> r.reason().contains("local policy of that name")));
        assertEquals("web.yaml", a.repo().get("prod", "web").orElseThrow().origin(), "the local policy is untouched");
        assertTrue(a.sync().problem() != null);
        // invalid text is refused with the field, all or nothing
        PolicyValidationException bad = assertThrows(PolicyValidationException.class,
                () -> b.sync().importPolicies(CCNP + "---\n" + CCNP.replace("name: cw", "name: cw2").replace("cluster]", "clusters]")));
        assertTrue(bad.getMessage().contains("clusters"), bad.getMessage());
        assertTrue(b.sync().list().stream().noneMatch(p -> p.name().startsWith("cw")), "neither document stored");
    }

    @Test
    void aStoredDocumentMustBeTheOnePolicyItsKeyNames() throws Exception {
        Node a = node("node-a");
        a.repo().importPolicies("local.yaml", WEB.replace("name: web", "name: local"));
        try (EtcdClient c = etcd.client()) {
            // a key for prod/web whose document is the local policy prod/local: it would replace it by name
            String v = "{\"kind\":\"CiliumNetworkPolicy\",\"namespace\":\"prod\",\"name\":\"web\",\"document\":"
                    + new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(WEB.replace("name: web", "name: local")) + "}";
            c.put("septum/state/policies/v1/prod/web", v, 0);
        }
        await("refused", () -> a.repo().rejected().stream().anyMatch(r -> r.reason().contains("but its key names")));
        assertEquals("local.yaml", a.repo().get("prod", "local").orElseThrow().origin(), "the local policy is untouched");
        assertTrue(a.repo().get("prod", "web").isEmpty());
    }

    @Test
    void aNodeThatStartsLaterTakesStoredPoliciesAndDropsOnesDeletedMeanwhile() throws Exception {
        Node a = node("node-a");
        a.sync().importPolicies(WEB);
        // node-b's repository remembers a cluster policy from before that the store no longer has
        PolicyRepositoryImpl old = new PolicyRepositoryImpl(dir.resolve("node-b"), EnforcementMode.DEFAULT, new PolicyEngineImpl());
        old.importPolicies("cluster:septum/state/policies/v1/_/cw", CCNP);
        Node b = node("node-b");
        assertTrue(b.repo().get("prod", "web").isPresent(), "listed at start");
        assertTrue(b.repo().get("", "cw").isEmpty(), "deleted while the node was away");
    }
}

package io.septum.policy.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.PolicyOffer;
import io.septum.api.policy.PolicySink;
import io.septum.api.policy.PolicySource;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.RejectedPolicy;
import io.septum.testsupport.Await;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The policy-source whiteboard over a real repository: what a source offers, refuses, removes and resyncs. */
class PolicySourcesTest {
    @TempDir
    Path state;
    private PolicySources sources;

    private static final String K8S = "k8s:CiliumNetworkPolicy/prod/allow";

    private static String cnp(String name, int port) {
        return "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: " + name + ", namespace: prod}\n"
                + "spec:\n  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n"
                + "  - toPorts: [{ports: [{port: '" + port + "', protocol: TCP}]}]\n";
    }

    private static PolicyOffer offer(String name, int port) {
        return new PolicyOffer("k8s:CiliumNetworkPolicy/prod/" + name, "CiliumNetworkPolicy", "prod", name,
                cnp(name, port));
    }

    @AfterEach
    void tearDown() {
        if (sources != null) sources.deactivate();
    }

    private PolicyRepositoryImpl repo() {
        return new PolicyRepositoryImpl(state.resolve("policies"), EnforcementMode.DEFAULT, new PolicyEngineImpl());
    }

    @Test
    void offersAreAppliedUnderTheirOriginAndAnUnchangedOneMakesNoRevision() throws Exception {
        PolicyRepositoryImpl r = repo();
        Source k8s = open(r, "k8s");
        assertTrue(k8s.sink.upsert(offer("allow", 80)));
        PolicyInfo p = r.get("prod", "allow").orElseThrow();
        assertEquals(K8S, p.origin());
        assertEquals(1, r.revision());
        assertFalse(k8s.sink.upsert(offer("allow", 80)), "a resync of the same object");
        assertEquals(1, r.revision(), "no new revision for an unchanged object");
        assertTrue(k8s.sink.upsert(offer("allow", 81)));
        assertEquals(2, r.revision());
        assertTrue(r.get("prod", "allow").orElseThrow().document().contains("'81'"));
    }

    @Test
    void aRefusedOfferIsRecordedAndThrownAndThePreviousVersionStays() throws Exception {
        PolicyRepositoryImpl r = repo();
        Source k8s = open(r, "k8s");
        k8s.sink.upsert(offer("allow", 80));
        var e = assertThrows(PolicyValidationException.class, () -> k8s.sink.upsert(offer("allow", 70000)));
        assertTrue(e.getMessage().contains("70000"), e.getMessage());
        assertEquals(1, r.revision(), "nothing applied");
        assertTrue(r.get("prod", "allow").orElseThrow().document().contains("'80'"), "the previous version stays");
        RejectedPolicy rejected = r.rejected().get(0);
        assertEquals(K8S, rejected.origin());
        assertEquals("CiliumNetworkPolicy", rejected.kind());
        assertEquals("prod/allow", rejected.asPolicyInfo().qualifiedName());
        assertEquals(e.getMessage(), rejected.reason());
        assertTrue(rejected.document().contains("70000"));
        k8s.sink.upsert(offer("allow", 80));
        assertTrue(r.rejected().isEmpty(), "the fixed object clears its rejection, even when unchanged");
    }

    @Test
    void removeDeletesOnlyTheSourcesOwnPolicyAndItsRejection() throws Exception {
        PolicyRepositoryImpl r = repo();
        Source k8s = open(r, "k8s");
        r.importPolicies("file.yaml", cnp("local", 80));
        k8s.sink.upsert(offer("allow", 80));
        assertThrows(PolicyValidationException.class, () -> k8s.sink.upsert(offer("bad", 70000)));
        // The source's object "local" is gone: the file's policy of that name stays.
        k8s.sink.remove("k8s:CiliumNetworkPolicy/prod/local");
        assertTrue(r.get("prod", "local").isPresent(), "a same-named policy of another origin is not the source's");
        k8s.sink.remove(K8S);
        assertTrue(r.get("prod", "allow").isEmpty());
        k8s.sink.remove("k8s:CiliumNetworkPolicy/prod/bad");
        assertTrue(r.rejected().isEmpty());
        k8s.sink.remove(K8S);
        var foreign = assertThrows(IllegalArgumentException.class, () -> k8s.sink.remove("file.yaml"));
        assertTrue(foreign.getMessage().contains("\"k8s:\""), foreign.getMessage());
        assertThrows(IllegalArgumentException.class, () -> k8s.sink.upsert(new PolicyOffer("docker:x", "CiliumNetworkPolicy",
                "prod", "x", cnp("x", 80))));
        assertEquals(List.of("prod/local"), r.list().stream().map(PolicyInfo::qualifiedName).toList());
    }

    @Test
    void resyncDropsWhatIsNoLongerLiveOfThisSourceOnly() throws Exception {
        PolicyRepositoryImpl r = repo();
        Source k8s = open(r, "k8s");
        r.importPolicies("file.yaml", cnp("local", 80));
        r.importPolicies("other:CiliumNetworkPolicy/prod/o", cnp("o", 80));
        k8s.sink.upsert(offer("a", 80));
        k8s.sink.upsert(offer("b", 80));
        assertThrows(PolicyValidationException.class, () -> k8s.sink.upsert(offer("c", 70000)));
        assertThrows(PolicyValidationException.class, () -> k8s.sink.upsert(offer("d", 70000)));
        k8s.sink.resync(List.of("k8s:CiliumNetworkPolicy/prod/a", "k8s:CiliumNetworkPolicy/prod/c"));
        assertEquals(List.of("prod/a", "prod/local", "prod/o"),
                r.list().stream().map(PolicyInfo::qualifiedName).sorted().toList());
        assertEquals(List.of("k8s:CiliumNetworkPolicy/prod/c"), r.rejected().stream().map(RejectedPolicy::origin).toList());
    }

    @Test
    void aSourceThatGoesAwayIsClosedAndItsPoliciesStayInForce() throws Exception {
        PolicyRepositoryImpl r = repo();
        sources = new PolicySources(r);
        Source k8s = new Source("k8s");
        sources.addSource(k8s);
        await(() -> k8s.sink != null);
        k8s.sink.upsert(offer("allow", 80));

        Source twin = new Source("k8s");
        sources.addSource(twin);
        Source bad = new Source("K8S:");
        sources.addSource(bad);
        assertEquals(List.of("k8s"), sources.names(), "a second source of the same name and a bad name are ignored");

        sources.removeSource(k8s);
        await(() -> k8s.closed);
        assertTrue(r.get("prod", "allow").isPresent(), "a source that goes keeps its policies in force");
        assertFalse(k8s.sink.upsert(offer("late", 80)), "a closed source's sink is deaf");
        k8s.sink.resync(List.of());
        assertTrue(r.get("prod", "late").isEmpty() && r.get("prod", "allow").isPresent());
        assertNull(twin.sink, "the ignored twin was never opened");

        Source again = new Source("k8s");
        sources.addSource(again);
        await(() -> again.sink != null);
        again.sink.resync(List.of());
        assertTrue(r.get("prod", "allow").isEmpty(), "a source that comes back resyncs what it left");
    }

    private Source open(PolicyRepositoryImpl r, String name) throws InterruptedException {
        sources = new PolicySources(r);
        Source s = new Source(name);
        sources.addSource(s);
        await(() -> s.sink != null);
        return s;
    }

    private static void await(BooleanSupplier c) throws InterruptedException {
        Await.until("the condition", Duration.ofSeconds(10), c);
    }

    private static final class Source implements PolicySource {
        private final String name;
        volatile PolicySink sink;
        volatile boolean closed;

        Source(String name) {
            this.name = name;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public void open(PolicySink sink) {
            this.sink = sink;
        }

        @Override
        public void close() {
            closed = true;
        }
    }
}

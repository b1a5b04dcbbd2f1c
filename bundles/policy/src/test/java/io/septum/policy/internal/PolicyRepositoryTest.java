package io.septum.policy.internal;

import io.septum.testsupport.TestCorpus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.ImportResult;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.PolicyListener;
import io.septum.api.policy.PolicyValidationException;
import java.lang.annotation.Annotation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PolicyRepositoryTest {
    @TempDir
    Path state;

    private static final String RULE1 = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: rule1}\n"
            + "spec:\n  endpointSelector: {matchLabels: {class: deathstar}}\n  ingress:\n"
            + "  - fromEndpoints: [{matchLabels: {org: empire}}]\n    toPorts: [{ports: [{port: '80', protocol: TCP}]}]\n";
    private static final String CCNP = "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\n"
            + "metadata: {name: cw}\nspec:\n  endpointSelector: {}\n  egress:\n  - toEntities: [cluster]\n";

    private PolicyRepositoryImpl repo(EnforcementMode mode) {
        return new PolicyRepositoryImpl(state.resolve("policies"), mode, new PolicyEngineImpl());
    }

    @Test
    void importPersistsAndSurvivesRestart() throws Exception {
        PolicyRepositoryImpl r = repo(EnforcementMode.DEFAULT);
        assertEquals(0, r.revision());
        ImportResult a = r.importPolicies("rule1.yaml", RULE1);
        assertEquals(1, a.revision());
        assertEquals(List.of("default/rule1"), a.policies());
        ImportResult b = r.importPolicies("cw.yaml", CCNP);
        assertEquals(2, b.revision());
        assertTrue(Files.exists(state.resolve("policies/state.json")));
        assertFalse(Files.exists(state.resolve("policies/state.json.tmp")));

        PolicyRepositoryImpl again = repo(EnforcementMode.DEFAULT);
        assertEquals(2, again.revision());
        assertEquals(r.list(), again.list());
        PolicyInfo p = again.get("default", "rule1").orElseThrow();
        assertEquals(1, p.revision());
        assertEquals("rule1.yaml", p.origin());
        assertEquals(RULE1, p.document());
        assertEquals(2, again.get("", "cw").orElseThrow().revision());
        assertEquals(2, again.get(null, "cw").orElseThrow().revision());
    }

    @Test
    void rejectedImportChangesNothing() throws Exception {
        PolicyRepositoryImpl r = repo(EnforcementMode.DEFAULT);
        r.importPolicies("rule1.yaml", RULE1);
        List<Integer> seen = new CopyOnWriteArrayList<>();
        r.setListenersForTest(List.of((rev, set, mode) -> seen.add((int) rev)));
        byte[] fileBefore = Files.readAllBytes(state.resolve("policies/state.json"));
        List<PolicyInfo> before = r.list();
        for (TestCorpus.Entry e : TestCorpus.invalid()) {
            Path bad = e.path();
            String text = new com.fasterxml.jackson.dataformat.yaml.YAMLMapper().readTree(TestCorpus.read(bad)).get("policies").asText();
            assertThrows(PolicyValidationException.class, () -> r.importPolicies(bad.toString(), text));
        }
        // a good document followed by a bad one: neither applies
        assertThrows(PolicyValidationException.class, () -> r.importPolicies("x", CCNP + "---\n" + RULE1.replace("'80'", "'80000'")));
        assertEquals(1, r.revision());
        assertEquals(before, r.list());
        assertEquals(new String(fileBefore), Files.readString(state.resolve("policies/state.json")));
        assertTrue(seen.isEmpty());
        assertTrue(r.get("", "cw").isEmpty());
    }

    @Test
    void deleteAndUnknownDelete() throws Exception {
        PolicyRepositoryImpl r = repo(EnforcementMode.DEFAULT);
        r.importPolicies("a", RULE1 + "---\n" + CCNP);
        long rev = r.delete("default", "rule1");
        assertEquals(2, rev);
        assertEquals(List.of("cw"), r.list().stream().map(PolicyInfo::name).toList());
        NoSuchElementException e = assertThrows(NoSuchElementException.class, () -> r.delete("default", "ghost"));
        assertTrue(e.getMessage().contains("default/ghost"), e.getMessage());
        assertThrows(NoSuchElementException.class, () -> r.delete("default", "cw"));
        assertEquals(3, r.delete("", "cw"));
        PolicyRepositoryImpl again = repo(EnforcementMode.DEFAULT);
        assertEquals(3, again.revision());
        assertTrue(again.list().isEmpty());
        assertEquals(4, again.importPolicies("a", RULE1).revision(), "revisions never go back");
    }

    @Test
    void listenersHearEveryChangeAndAFailingOneBreaksNoOther() throws Exception {
        PolicyRepositoryImpl r = repo(EnforcementMode.DEFAULT);
        List<String> heard = new ArrayList<>();
        PolicyListener bad = (rev, set, mode) -> {
            throw new IllegalStateException("boom");
        };
        PolicyListener good = (rev, set, mode) -> heard.add(rev + ":" + set.policies().size() + ":" + mode);
        r.setListenersForTest(List.of(bad, good));
        r.importPolicies("a", RULE1);
        r.importPolicies("b", CCNP);
        r.delete("default", "rule1");
        r.modified(config("always"));
        assertEquals(List.of("1:1:default", "2:2:default", "3:1:default", "3:1:always"), heard);
        assertEquals(EnforcementMode.ALWAYS, r.mode());
    }

    @Test
    void invalidModeIsRefusedClearly() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PolicyRepositoryImpl.parseMode(config("sometimes")));
        assertTrue(e.getMessage().contains("sometimes") && e.getMessage().contains("enforcementMode"), e.getMessage());
        assertEquals(EnforcementMode.NEVER, PolicyRepositoryImpl.parseMode(config("never")));
    }

    /** An empty state file is damage just as unreadable JSON is: set aside for the operator, said in status, not fatal. */
    @ParameterizedTest
    @ValueSource(strings = {"", "{not json"})
    void aDamagedStateFileIsSetAsideNotFatal(String damaged) throws Exception {
        Files.createDirectories(state.resolve("policies"));
        Files.writeString(state.resolve("policies/state.json"), damaged);
        PolicyRepositoryImpl r = repo(EnforcementMode.DEFAULT);
        assertTrue(r.list().isEmpty());
        assertEquals("degraded", r.health().state(), "nothing silently starts empty");
        assertTrue(r.health().message().contains("import them again"), r.health().message());
        try (var s = Files.list(state.resolve("policies"))) {
            assertTrue(s.anyMatch(f -> f.getFileName().toString().startsWith("state.json.corrupt-")),
                    "the damaged file is kept for the operator");
        }
        r.importPolicies("a", RULE1);
        assertEquals(1, repo(EnforcementMode.DEFAULT).list().size());
    }

    @Test
    void aCorruptStateFileIsRebuiltFromTheHistory() throws Exception {
        PolicyRepositoryImpl before = repo(EnforcementMode.DEFAULT);
        before.importPolicies("a", RULE1);
        before.importPolicies("b", CCNP);
        before.importPolicies("a", RULE1.replace("rule1", "rule9"));
        before.delete("default", "rule9");
        List<String> was = before.list().stream().map(p -> p.kind() + " " + p.qualifiedName() + " " + p.revision()).sorted().toList();
        Path f = state.resolve("policies/state.json");
        byte[] bytes = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(bytes, bytes.length / 2)); // a crash in the middle of a write

        PolicyRepositoryImpl r = repo(EnforcementMode.DEFAULT);
        assertEquals(was, r.list().stream().map(p -> p.kind() + " " + p.qualifiedName() + " " + p.revision()).sorted().toList());
        assertEquals(EnforcementMode.DEFAULT, r.mode(), "the policies are back: nothing needs closing");
        assertEquals(4, r.revision());
        assertTrue(r.health().message().contains("rebuilt 2 policies from the policy history (revision 4)"), r.health().message());
        assertFalse(r.health().message().contains("import them again"), r.health().message());
        // and the rebuilt state is on disk: the next start reads it as usual
        PolicyRepositoryImpl again = repo(EnforcementMode.DEFAULT);
        assertEquals(was, again.list().stream().map(p -> p.kind() + " " + p.qualifiedName() + " " + p.revision()).sorted().toList());
        assertEquals("ok", again.health().state());
    }

    @Test
    void aCorruptStateFileWithoutHistoryFailsClosedUntilTheNextImport() throws Exception {
        PolicyRepositoryImpl before = repo(EnforcementMode.DEFAULT);
        before.importPolicies("a", RULE1);
        before.importPolicies("b", CCNP);
        Path f = state.resolve("policies/state.json");
        byte[] bytes = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(bytes, bytes.length / 2)); // a crash in the middle of a write
        Files.delete(state.resolve("policies/" + PolicyHistoryLog.FILE)); // and no history to rebuild from

        PolicyRepositoryImpl r = repo(EnforcementMode.DEFAULT);
        List<EnforcementMode> delivered = new CopyOnWriteArrayList<>();
        r.setListenersForTest(List.of((rev, set, mode) -> delivered.add(mode)));
        assertTrue(r.list().isEmpty());
        assertEquals(EnforcementMode.ALWAYS, r.mode(), "the lost policies' endpoints must not open");
        assertTrue(r.health().message().contains("acts as always"), r.health().message());
        assertEquals(0, r.revision(), "nothing is known of the revisions");

        // a policy source's automatic re-import brings back its own policies, not the lost ones: still closed
        r.importPolicies("k8s:default/x", RULE1.replace("rule1", "from-source"), "policy source kubernetes");
        assertEquals(EnforcementMode.ALWAYS, r.mode(), "a source's re-import does not end it");
        assertEquals(2, r.importPolicies("a", RULE1).revision());
        assertEquals(EnforcementMode.DEFAULT, r.mode(), "the operator's import ends it");
        assertFalse(r.health().message().contains("acts as always"), r.health().message());
        assertEquals(List.of(EnforcementMode.ALWAYS, EnforcementMode.DEFAULT), delivered);
        assertEquals(EnforcementMode.NEVER, modeAfterCorruptStart(EnforcementMode.NEVER));
        assertEquals(EnforcementMode.ALWAYS, modeAfterCorruptStart(EnforcementMode.ALWAYS));
    }

    private EnforcementMode modeAfterCorruptStart(EnforcementMode configured) throws Exception {
        Files.writeString(state.resolve("policies/state.json"), "{\"revision\": 4, \"poli");
        Files.deleteIfExists(state.resolve("policies/" + PolicyHistoryLog.FILE));
        return repo(configured).mode();
    }

    @Test
    void healthSaysWhatIsLoadedAndWhatWasNot() throws Exception {
        PolicyRepositoryImpl r = repo(EnforcementMode.DEFAULT);
        r.importPolicies("a", RULE1 + "---\n" + CCNP);
        assertEquals("ok", r.health().state());
        assertTrue(r.health().message().contains("2 policies, revision 1, mode default"), r.health().message());
        Path f = state.resolve("policies/state.json");
        Files.writeString(f, Files.readString(f).replace("toEntities: [cluster]", "toEntities: [galaxy]"));
        PolicyRepositoryImpl again = repo(EnforcementMode.DEFAULT);
        assertEquals(List.of("rule1"), again.list().stream().map(PolicyInfo::name).toList());
        assertEquals("degraded", again.health().state());
        assertTrue(again.health().message().contains("galaxy"), again.health().message());
    }

    private static PolicyRepositoryImpl.Config config(String mode) {
        return new PolicyRepositoryImpl.Config() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return PolicyRepositoryImpl.Config.class;
            }

            @Override
            public String enforcementMode() {
                return mode;
            }
        };
    }
}

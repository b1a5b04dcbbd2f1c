package io.septum.policy.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicyRevision;
import io.septum.api.policy.PolicyValidationException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.NoSuchElementException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The policy history: every change recorded with its author and diff, kept across restarts; rollback. */
class PolicyHistoryTest {
    private static final String V1 = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: rule1, namespace: default}
            spec:
              endpointSelector: {matchLabels: {class: deathstar}}
              ingress:
              - fromEndpoints: [{matchLabels: {org: empire}}]
            """;
    private static final String V2 = V1.replace("org: empire", "org: alliance");
    private static final String OTHER = V1.replace("rule1", "rule2");

    @TempDir
    Path dir;

    private PolicyRepositoryImpl repo() {
        return new PolicyRepositoryImpl(dir, EnforcementMode.DEFAULT, new PolicyEngineImpl());
    }

    /** A repository in which root imported rule1 as {@link #V1} (revision 1), then changed it to {@link #V2} (2). */
    private PolicyRepositoryImpl repoAtV2() throws Exception {
        PolicyRepositoryImpl r = repo();
        r.importPolicies("a.yaml", V1, "root");
        r.importPolicies("a.yaml", V2, "root");
        return r;
    }

    @Test
    void everyChangeIsRecordedWithAuthorAndDiffAndSurvivesARestart() throws Exception {
        PolicyRepositoryImpl r = repo();
        r.importPolicies("a.yaml", V1, "uid 0 (root)");
        r.importPolicies("b.yaml", V2 + "---\n" + OTHER, "uid 1000 (alice)");
        r.importPolicies("b.yaml", V2, null);
        r.delete("default", "rule2", "uid 0 (root)");

        for (PolicyRepositoryImpl x : List.of(r, repo())) { // and again after a restart
            List<PolicyRevision> all = x.history(null, null, 0);
            assertEquals(5, all.size(), all.toString());
            PolicyRevision del = all.get(0);
            assertEquals(4, del.revision());
            assertEquals("delete", del.action());
            assertEquals("deleted", del.change());
            assertEquals("default/rule2", del.policy());
            assertEquals("uid 0 (root)", del.author());
            assertTrue(del.diff().stream().allMatch(l -> l.startsWith("-")), del.diff().toString());

            List<PolicyRevision> rule1 = x.history("default", "rule1", 0);
            assertEquals(List.of(3L, 2L, 1L), rule1.stream().map(PolicyRevision::revision).toList());
            assertEquals("unchanged", rule1.get(0).change());
            assertEquals("agent", rule1.get(0).author(), "an import without an author");
            assertTrue(rule1.get(0).diff().isEmpty());
            assertEquals("changed", rule1.get(1).change());
            assertEquals("uid 1000 (alice)", rule1.get(1).author());
            assertTrue(rule1.get(1).diff().contains("-  - fromEndpoints: [{matchLabels: {org: empire}}]"), rule1.get(1).diff().toString());
            assertTrue(rule1.get(1).diff().contains("+  - fromEndpoints: [{matchLabels: {org: alliance}}]"), rule1.get(1).diff().toString());
            assertEquals("added", rule1.get(2).change());
            assertEquals("a.yaml", rule1.get(2).origin());
            assertEquals(1, x.history("default", "rule1", 1).size(), "limit");
        }
    }

    @Test
    void rollbackRestoresADocumentAsOneNewRevision() throws Exception {
        PolicyRepositoryImpl r = repoAtV2();
        long rev = r.rollback("default", "rule1", 1, "alice");
        assertEquals(3, rev);
        assertEquals(3, r.revision());
        assertEquals(V1.strip(), r.get("default", "rule1").orElseThrow().document().strip());
        PolicyRevision last = r.history("default", "rule1", 1).get(0);
        assertEquals("rollback", last.action());
        assertEquals("to revision 1", last.note());
        assertEquals("alice", last.author());
        // the restored policy is what a restart loads
        assertEquals(V1.strip(), repo().get("default", "rule1").orElseThrow().document().strip());
    }

    @Test
    void rollbackToBeforeAPolicyExistedDeletesItAndBackAgainRestoresIt() throws Exception {
        PolicyRepositoryImpl r = repo();
        r.importPolicies("o.yaml", OTHER, "root");  // 1
        r.importPolicies("a.yaml", V1, "root");     // 2
        r.rollback("default", "rule1", 1, "root");  // 3: rule1 did not exist at 1
        assertTrue(r.get("default", "rule1").isEmpty());
        assertTrue(r.get("default", "rule2").isPresent(), "only the named policy changes");
        assertEquals("deleted", r.history("default", "rule1", 1).get(0).change());
        r.rollback("default", "rule1", 2, "root");  // 4
        assertEquals(V1.strip(), r.get("default", "rule1").orElseThrow().document().strip());
        r.delete("default", "rule1", "root");       // 5
        r.rollback("default", "rule1", 2, "root");  // 6: a deleted policy comes back
        assertTrue(r.get("default", "rule1").isPresent());
        assertEquals(6, r.revision());
    }

    @Test
    void stagingKeepsLabelValuesThatLookLikeNumbersAsStrings() throws Exception {
        PolicyRepositoryImpl r = repo();
        for (String v : new String[] {"1.10", "1e3", "0x1F", "1_000", ".inf"}) {
            String doc = V1.replace("class: deathstar", "class: deathstar, version: \"" + v + "\"");
            r.importPolicies("a.yaml", doc, "root");
            r.setMode("default", "rule1", "audit", "alice");
            String staged = r.get("default", "rule1").orElseThrow().document();
            com.fasterxml.jackson.databind.JsonNode label = new com.fasterxml.jackson.dataformat.yaml.YAMLMapper().readTree(staged)
                    .path("spec").path("endpointSelector").path("matchLabels").path("version");
            assertTrue(label.isTextual() && label.asText().equals(v), v + " read back as " + label + "\n" + staged);
            r.setMode("default", "rule1", "enforce", "alice");
        }
    }

    @Test
    void stageAndPromoteSetTheModeAsRecordedChanges() throws Exception {
        PolicyRepositoryImpl r = repo();
        r.importPolicies("a.yaml", V1, "root");
        assertEquals(2, r.setMode("default", "rule1", "audit", "alice"));
        io.septum.api.policy.PolicyInfo staged = r.get("default", "rule1").orElseThrow();
        assertTrue(staged.notes().stream().anyMatch(n -> n.startsWith("audit mode")), staged.notes().toString());
        assertTrue(staged.document().contains("policy.septum.io/mode: audit"), staged.document());
        assertThrows(IllegalStateException.class, () -> r.setMode("default", "rule1", "audit", "alice"), "already");
        assertEquals(3, r.setMode("default", "rule1", "enforce", "bob"));
        io.septum.api.policy.PolicyInfo promoted = r.get("default", "rule1").orElseThrow();
        assertTrue(promoted.notes().stream().noneMatch(n -> n.startsWith("audit mode")), promoted.notes().toString());
        assertTrue(!promoted.document().contains("annotations"), "enforcing is the default: " + promoted.document());
        List<PolicyRevision> h = r.history("default", "rule1", 0);
        assertEquals(List.of("promote", "stage", "import"), h.stream().map(PolicyRevision::action).toList());
        assertEquals("bob", h.get(0).author());
        assertTrue(h.get(1).diff().contains("+  annotations:"), h.get(1).diff().toString());
        assertThrows(NoSuchElementException.class, () -> r.setMode("default", "nope", "audit", "x"));
        assertThrows(IllegalArgumentException.class, () -> r.setMode("default", "rule1", "dry-run", "x"));
        assertEquals(3, r.revision());
    }

    @Test
    void aRollbackThatCannotBeDoneChangesNothing() throws Exception {
        PolicyRepositoryImpl r = repoAtV2();
        assertThrows(NoSuchElementException.class, () -> r.rollback("default", "nope", 1, "root"));
        assertThrows(IllegalArgumentException.class, () -> r.rollback("default", "rule1", 9, "root"));
        assertThrows(IllegalStateException.class, () -> r.rollback("default", "rule1", 2, "root"), "already so");
        assertEquals(2, r.revision());
        assertEquals(2, r.history(null, null, 0).size());
    }

    @Test
    void aDocumentThatNoLongerValidatesIsNotRestored() throws Exception {
        PolicyRepositoryImpl r = repoAtV2();
        // an older agent accepted what this one refuses: simulated by editing the recorded document
        Path h = dir.resolve(PolicyHistoryLog.FILE);
        String text = Files.readString(h, StandardCharsets.UTF_8);
        Files.writeString(h, text.replaceFirst("endpointSelector", "endpointSelectr"));
        PolicyRepositoryImpl again = repo();
        assertThrows(PolicyValidationException.class, () -> again.rollback("default", "rule1", 1, "root"));
        assertEquals(2, again.revision());
        assertEquals(V2.strip(), again.get("default", "rule1").orElseThrow().document().strip());
    }

    @Test
    void aTornLastLineIsSkippedAndAChangeMissingFromTheHistoryIsRecordedAtStart() throws Exception {
        PolicyRepositoryImpl r = repoAtV2();
        // a crash after the state file was written and while the history line was: the line is torn
        Path h = dir.resolve(PolicyHistoryLog.FILE);
        List<String> lines = Files.readAllLines(h);
        Files.writeString(h, lines.get(0) + "\n" + lines.get(1).substring(0, 40));
        PolicyRepositoryImpl again = repo();
        List<PolicyRevision> all = again.history(null, null, 0);
        assertEquals(2, all.size(), all.toString());
        assertEquals(2, all.get(0).revision());
        assertEquals("unknown (recorded at start)", all.get(0).author());
        assertEquals("changed", all.get(0).change());
        assertTrue(again.health().message().contains("unreadable line"), again.health().toString());
    }

    @Test
    void theFileIsCompactedToTheNewestEntriesAndWhatIsInForce() {
        PolicyHistoryLog log = new PolicyHistoryLog(dir, 3);
        log.append(List.of(new PolicyHistoryLog.Entry(1, "t", "a", "import", "added", "CiliumNetworkPolicy",
                "default", "old", "o", null, "old doc")));
        log.append(List.of(new PolicyHistoryLog.Entry(2, "t", "a", "import", "added", "CiliumNetworkPolicy",
                "default", "gone", "o", null, "gone doc")));
        log.append(List.of(new PolicyHistoryLog.Entry(3, "t", "a", "delete", "deleted", "CiliumNetworkPolicy",
                "default", "gone", "o", null, null)));
        for (int i = 4; i <= 6; i++) {
            log.append(List.of(new PolicyHistoryLog.Entry(i, "t", "a", "import", "changed", "CiliumNetworkPolicy",
                    "default", "p", "o", null, "doc " + i)));
        }
        // 6 entries = twice keep: the newest 3, "old" (in force however old its entry is), and "gone"'s delete (its
        // last entry before the cut: what it was from then on)
        assertEquals(List.of(1L, 3L, 4L, 5L, 6L), new PolicyHistoryLog(dir, 3).entries().stream()
                .map(PolicyHistoryLog.Entry::revision).toList());
        assertEquals(List.of("old", "p"), new PolicyHistoryLog(dir, 3).inForce().stream()
                .map(PolicyHistoryLog.Entry::name).toList());
        assertEquals(4, new PolicyHistoryLog(dir, 3).completeFrom(), "complete from the oldest of the newest 3");
    }

    /** After compaction, a rollback into the part of the history that is gone is refused, not guessed. */
    @Test
    void aRollbackBeforeTheCompleteHistoryIsRefused() throws Exception {
        Path h = dir.resolve(PolicyHistoryLog.FILE);
        PolicyRepositoryImpl r = repo();
        r.importPolicies("o.yaml", OTHER, "root"); // 1: rule2, in force ever since
        r.importPolicies("a.yaml", V1, "root");    // 2
        r.importPolicies("a.yaml", V2, "root");    // 3
        r.importPolicies("a.yaml", V1, "root");    // 4
        // as a compaction that kept the newest entry (4) and rule2's entry (1, in force) leaves it
        List<String> lines = java.nio.file.Files.readAllLines(h);
        java.nio.file.Files.writeString(h, "{\"completeFrom\":4}\n" + lines.get(0) + "\n" + lines.get(3) + "\n");
        PolicyRepositoryImpl again = repo();
        // rule1 had a document at 3, but the history no longer holds it: refused, not "absent then" (a delete)
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> again.rollback("default", "rule1", 3, "root"));
        assertTrue(e.getMessage().contains("complete from revision 4"), e.getMessage());
        assertEquals(4, again.revision());
        assertTrue(again.get("default", "rule1").isPresent());
    }

    private static PolicyHistoryLog.Entry e(long rev, String name, String doc) {
        return new PolicyHistoryLog.Entry(rev, "t", "a", doc == null ? "delete" : "import", doc == null ? "deleted" : "changed",
                "CiliumNetworkPolicy", "default", name, "o", null, doc);
    }

    /** Compaction keeps each policy's last entry before the cut: its state at any revision from the cut on is known. */
    @Test
    void compactionKeepsWhatEachPolicyWasAtTheCut() {
        PolicyHistoryLog log = new PolicyHistoryLog(dir, 3);
        log.append(List.of(e(1, "y", "y1")));
        for (long r = 2; r <= 5; r++) log.append(List.of(e(r, "x", "x" + r)));
        log.append(List.of(e(6, "y", "y6")));
        PolicyHistoryLog again = new PolicyHistoryLog(dir, 3);
        assertEquals(4, again.completeFrom());
        // y at revision 5 was y1: its entry from before the cut is still there
        PolicyHistoryLog.Entry yAt5 = again.entries().stream().filter(x -> x.name().equals("y") && x.revision() <= 5)
                .reduce((a, b) -> b).orElseThrow();
        assertEquals("y1", yAt5.document());
    }

    /** A history first made at start for policies stored before it knows nothing older: no rollback to before it. */
    @Test
    void aHistoryStartedOverExistingPoliciesIsCompleteOnlyFromThen() throws Exception {
        repoAtV2();
        java.nio.file.Files.delete(dir.resolve(PolicyHistoryLog.FILE)); // as an agent from before the history left it
        PolicyRepositoryImpl again = repo();
        assertEquals("unknown (recorded at start)", again.history("default", "rule1", 1).get(0).author());
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
                () -> again.rollback("default", "rule1", 1, "root"));
        assertTrue(ex.getMessage().contains("complete from revision 2"), ex.getMessage());
        assertTrue(again.get("default", "rule1").isPresent());
    }

    /** An append after a line left unfinished starts on a line of its own, so it is read back. */
    @Test
    void anAppendAfterATornLineIsNotLost() throws Exception {
        PolicyRepositoryImpl r = repo();
        r.importPolicies("a.yaml", V1, "root");
        Path h = dir.resolve(PolicyHistoryLog.FILE);
        java.nio.file.Files.writeString(h, "{\"revision\": 9, \"tim", java.nio.file.StandardOpenOption.APPEND);
        repo().importPolicies("a.yaml", V2, "root");
        List<PolicyRevision> all = repo().history(null, null, 0);
        assertEquals(List.of(2L, 1L), all.stream().map(PolicyRevision::revision).toList());
    }

    @Test
    void historyOfANamespace() throws Exception {
        PolicyRepositoryImpl r = repo();
        r.importPolicies("a.yaml", V1, "root");
        r.importPolicies("b.yaml", V1.replace("namespace: default", "namespace: prod"), "root");
        assertEquals(List.of("prod/rule1"), r.history("prod", null, 0).stream().map(PolicyRevision::policy).toList());
        assertEquals(2, r.history("", null, 0).size(), "no namespace: every policy");
    }
}

package io.septum.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.septum.api.policy.PolicyRevision;
import io.septum.apiserver.internal.ApiServer;
import io.septum.apiserver.internal.MonitorHub;
import io.septum.testsupport.RecordingPolicyHistory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code policy history} and {@code policy rollback} through the real API server; and the author of a change is who
 * the kernel says is on the other end of the socket, not anything the client sends.
 */
class PolicyHistoryCommandsTest {
    @TempDir
    Path dir;
    private Path socket;
    private FakeAgent agent;
    private ApiServer server;
    private RecordingPolicyHistory history;
    private final List<String> asked = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        socket = dir.resolve("septum.sock");
        agent = new FakeAgent();
        history = new RecordingPolicyHistory(3, 7,
                new PolicyRevision(2, "2026-12-06T08:00:00Z", "uid 1000 (alice)", "import", "changed",
                        "CiliumNetworkPolicy", "default/rule1", "a.yaml", null, List.of(" spec:", "-  a", "+  b")),
                new PolicyRevision(1, "2026-12-06T07:00:00Z", "uid 0 (root)", "import", "added",
                        "CiliumNetworkPolicy", "default/rule1", "a.yaml", null, List.of("+spec:")));
        agent.history = history;
        server = TestApi.start(socket, agent, new MonitorHub(64, 4), 8);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    /** The user this test runs as, asked of id(1): an oracle independent of how the agent reads it. */
    private static String me() throws Exception {
        int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        Process p = new ProcessBuilder("id", "-un").redirectErrorStream(true).start();
        String name = new String(p.getInputStream().readAllBytes()).strip();
        assertEquals(0, p.waitFor());
        return "uid " + uid + " (" + name + ")";
    }

    @Test
    void historyListsChangesAndNarrowsToOnePolicy() throws Exception {
        CliRun r = CliRun.at(socket, "policy", "history");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("REVISION") && r.out().contains("uid 1000 (alice)") && r.out().contains("changed"), r.out());
        assertEquals("history |null|0", history.calls.get(0), "no name: every policy");

        r = CliRun.at(socket, "policy", "history", "prod/rule1", "--limit", "1", "--diff");
        assertTrue(r.out().contains("revision 2") && r.out().contains("  -  a") && r.out().contains("  +  b"), r.out());
        assertTrue(!r.out().contains("revision 1"), r.out());
        assertEquals("history prod|rule1|1", history.calls.get(1));

        CliRun.at(socket, "policy", "history", "cw", "-n", "-");
        assertEquals("history |cw|0", history.calls.get(2), "- is cluster-wide");

        JsonNode j = new ObjectMapper().readTree(CliRun.at(socket, "policy", "history", "rule1", "-o", "json").out());
        assertEquals("history default|rule1|0", history.calls.get(3), "the default namespace");
        assertEquals(2, j.path(0).path("revision").asLong());
        assertEquals("-  a", j.path(0).path("diff").path(1).asText());
    }

    @Test
    void rollbackSendsTheRevisionAndTheCallerAsAuthor() throws Exception {
        CliRun r = CliRun.at(socket, "policy", "rollback", "rule1", "--to", "1");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Rolled back policy default/rule1 to revision 1; new revision 3"), r.out());
        assertEquals("rollback default|rule1|1|" + me(), history.calls.get(0));

        r = CliRun.at(socket, "policy", "rollback", "nope", "--to", "1");
        assertTrue(r.code() != 0);
        assertTrue(r.err().contains("no policy \"nope\""), r.err());
        r = CliRun.at(socket, "policy", "rollback", "rule1");
        assertTrue(r.code() != 0 && r.err().contains("--to"), r.err());
    }

    @Test
    void stageAndPromoteSetTheMode() throws Exception {
        CliRun r = CliRun.at(socket, "policy", "stage", "prod/rule1");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Staged policy prod/rule1 (audit mode), revision 7"), r.out());
        assertEquals("mode prod|rule1|audit|" + me(), history.calls.get(0));
        r = CliRun.at(socket, "policy", "promote", "rule1", "-o", "json");
        assertEquals(7, new ObjectMapper().readTree(r.out()).path("revision").asInt(), r.out());
        assertEquals("mode default|rule1|enforce|" + me(), history.calls.get(1));
    }

    @Test
    void importAndDeleteCarryTheSocketPeerAsAuthor() throws Exception {
        Path f = dir.resolve("p.yaml");
        Files.writeString(f, "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: rule9\n  namespace: default\n");
        assertEquals(0, CliRun.at(socket, "policy", "import", f.toString()).code());
        assertEquals(0, CliRun.at(socket, "policy", "delete", "rule9").code());
        assertEquals(List.of(me(), me()), agent.authors);
    }

    @Test
    void uiLoginPrintsTheLinkTheUiMadeForTheCaller() throws Exception {
        CliRun none = CliRun.at(socket, "ui", "login");
        assertTrue(none.code() != 0 && none.err().contains("the web UI (bundle septum-web-ui)"), none.err());
        agent.uiLogin = author -> {
            asked.add("login " + author);
            return new io.septum.api.ui.UiLoginLink("http://127.0.0.1:12000/login?token=t0k", "2026-12-06T10:05:00Z");
        };
        CliRun r = CliRun.at(socket, "ui", "login");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("http://127.0.0.1:12000/login?token=t0k") && r.out().contains("2026-12-06T10:05:00Z"), r.out());
        assertEquals("login " + me(), asked.get(0), "the link acts for whoever the kernel says asked");
        JsonNode j = new ObjectMapper().readTree(CliRun.at(socket, "ui", "login", "-o", "json").out());
        assertEquals("http://127.0.0.1:12000/login?token=t0k", j.path("url").asText());
        agent.uiLogin = author -> {
            throw new IllegalStateException("the web UI is not served (disabled)");
        };
        CliRun off = CliRun.at(socket, "ui", "login");
        assertTrue(off.code() != 0 && off.err().contains("enabled=true in etc/io.septum.webui.cfg"), off.err());
    }
}

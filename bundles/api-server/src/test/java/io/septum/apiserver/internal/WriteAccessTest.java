package io.septum.apiserver.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.testsupport.RequiresRoot;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who may change the agent: the rule on fake group and proc files, then for real, with requests sent over the
 * socket by processes running as another user (setpriv), so the kernel's peer credentials decide.
 */
class WriteAccessTest {
    @TempDir
    Path dir;

    private static HttpRequest req(String method, String path, UnixCaller.Peer peer) {
        return new HttpRequest(method, path, "HTTP/1.1", Map.of(), new byte[0], peer);
    }

    @Test
    void readsPassWritesNeedRootOrTheAdminGroup() throws Exception {
        Path group = Files.writeString(dir.resolve("group"), "root:x:0:\nseptum-admin:x:990:alice\nother:x:991:\n");
        Files.createDirectories(dir.resolve("proc/42"));
        Files.writeString(dir.resolve("proc/42/status"), "Name:\tjava\nUid:\t1000\t1000\t1000\t1000\nGroups:\t27 990 \n");
        Files.createDirectories(dir.resolve("proc/43"));
        Files.writeString(dir.resolve("proc/43/status"), "Name:\tcron\nUid:\t0\t0\t0\t0\nGroups:\t990\n");
        WriteAccess access = new WriteAccess("septum-admin", group, dir.resolve("proc"));
        UnixCaller.Peer alice = new UnixCaller.Peer(1000, 1000, 42, "uid 1000 (alice)");
        UnixCaller.Peer bob = new UnixCaller.Peer(1001, 1001, 44, "uid 1001 (bob)");
        UnixCaller.Peer primary = new UnixCaller.Peer(1002, 990, 45, "uid 1002 (carol)");
        UnixCaller.Peer reused = new UnixCaller.Peer(2000, 2000, 43, "uid 2000 (mallory)");
        UnixCaller.Peer root = new UnixCaller.Peer(0, 0, 1, "uid 0 (root)");

        assertNull(access.refusal(req("GET", "/v1/policies", bob)), "reading needs no admin");
        assertNull(access.refusal(req("POST", "/v1/policy/impact", bob)), "impact changes nothing");
        assertNull(access.refusal(req("POST", "/v1/policy/trace", null)));
        assertNull(access.refusal(req("DELETE", "/v1/policies/default/x", root)));
        assertNull(access.refusal(req("POST", "/v1/policies", alice)), "a supplementary group of the caller");
        assertNull(access.refusal(req("PUT", "/v1/services", primary)), "the primary group");
        String refused = access.refusal(req("POST", "/v1/policies", bob));
        assertNotNull(refused);
        assertTrue(refused.contains("uid 1001 (bob) is neither root nor in group septum-admin"), refused);
        assertNotNull(access.refusal(req("POST", "/v1/policy/rollback", reused)),
                "a pid now used by another user's process lends no groups");
        assertNotNull(access.refusal(req("DELETE", "/v1/policies/default/x", null)), "an unknown caller writes nothing");
        assertNotNull(access.refusal(req("POST", "/v1/ui/login", bob)), "a UI session can change policy: a write");
        assertNull(access.refusal(req("POST", "/v1/ui/login", alice)));
        assertNotNull(new WriteAccess("", group, dir.resolve("proc")).refusal(req("POST", "/v1/policies", alice)),
                "no admin group: root only");
        assertNotNull(new WriteAccess("missing", group, dir.resolve("proc")).refusal(req("POST", "/v1/policies", alice)));
    }

    /** Runs curl as {@code nobody} (with {@code groups} besides nogroup, may be empty) and answers the HTTP status. */
    private static int asNobody(Path socket, String groups, String method, String path) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534"));
        cmd.add(groups.isEmpty() ? "--clear-groups" : "--groups=" + groups);
        cmd.addAll(List.of("--", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
                "--unix-socket", socket.toString(), "-X", method, "http://agent" + path));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "curl did not finish");
        return Integer.parseInt(out);
    }

    @Test
    @RequiresRoot("setpriv to another user; chgrp of the socket")
    void theKernelsViewOfTheCallerDecides() throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path socket = dir.resolve("septum.sock");
        // the socket's group is nogroup, so nobody may connect and read; writes need root or group adm (gid 4)
        ApiServer server = new ApiServer(socket, new ApiRoutes(new ApiServerSocketTest.EmptyBackend()),
                new MonitorHub(4, 2), new ApiServer.Settings(4, 5_000, "nogroup", 100, "adm"));
        try {
            server.start().get(10, TimeUnit.SECONDS);
            assertEquals(403, asNobody(socket, "", "DELETE", "/v1/policies/default/rule1"));
            assertEquals(403, asNobody(socket, "", "POST", "/v1/policy/rollback"));
            int read = asNobody(socket, "", "GET", "/v1/policies");
            assertTrue(read != 403 && read != 0, "a read by a member of the socket's group: " + read);
            int validate = asNobody(socket, "", "POST", "/v1/policy/validate");
            assertTrue(validate != 403, "validate changes nothing: " + validate);
            assertEquals(403, asNobody(socket, "", "POST", "/v1/ui/login"), "no UI session for a reader");
            assertEquals(503, asNobody(socket, "4", "POST", "/v1/ui/login"), "an admin gets past the check; no UI runs here");
            int admin = asNobody(socket, "4", "DELETE", "/v1/policies/default/rule1");
            assertTrue(admin != 403 && admin != 0, "nobody in group adm may write: " + admin);
        } finally {
            server.close();
        }
    }
}

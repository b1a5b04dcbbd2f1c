package io.septum.itests.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.testsupport.TestFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The systemd unit's sandbox: {@code systemd-analyze security} rates {@code septum.service} 4.5 or lower, and the
 * agent started under the same restrictions ({@code scripts/sandbox-run.sh}: this machine has no systemd as PID 1)
 * becomes ready and enforces a policy between two network-namespace endpoints with real packets. The agent is
 * installed outside /tmp and /root, as the unit's {@code PrivateTmp} and {@code ProtectHome} hide both.
 */
class SandboxIT {
    private static final double GOAL = 4.5;
    /** CapabilityBoundingSet= of septum.service: CHOWN 0, NET_ADMIN 12, SYS_ADMIN 21, SYS_RESOURCE 24, PERFMON 38, BPF 39. */
    private static final long UNIT_CAPS = 1L | 1L << 12 | 1L << 21 | 1L << 24 | 1L << 38 | 1L << 39;
    /** Where the unit's agent keeps its pin directory's lock (bpffs holds pins only). */
    private static final Path LOCKS = Path.of("/run/lock/septum");
    private static final Pattern SCORE = Pattern.compile("Overall exposure level for septum\\.service: (\\d+\\.\\d+)");

    @Test
    void theUnitScoresOkAndTheAgentEnforcesUnderItsSandbox() throws Exception {
        Path unit = E2eSupport.repoFile("distribution/src/main/dist/systemd/septum.service");
        Path script = E2eSupport.repoFile("scripts/sandbox-run.sh");
        E2eSupport.Run score = E2eSupport.sh(Duration.ofSeconds(60), "systemd-analyze", "security", "--offline=true",
                unit.toString());
        Matcher m = SCORE.matcher(score.out() + score.err());
        assertTrue(m.find(), "systemd-analyze gave no score: " + score);
        double exposure = Double.parseDouble(m.group(1));
        System.err.println("e2e: systemd-analyze security rates septum.service " + exposure);
        assertTrue(exposure <= GOAL, "septum.service is rated " + exposure + ", above " + GOAL + ":\n" + score.out());

        String tag = E2eSupport.rand();
        Path install = Path.of("/opt/septum-e2e-sandbox-" + tag);
        Path base = Path.of("/var/lib/septum-e2e-sandbox-" + tag);
        Files.createDirectories(base.resolve("state"));
        Files.createDirectories(base.resolve("run"));
        Path lockFile = null;
        boolean hadLocks = Files.exists(LOCKS);
        try {
            E2eSupport.Run copied = E2eSupport.sh(Duration.ofSeconds(60), "cp", "-a",
                    E2eSupport.distribution().toString(), install.toString());
            assertEquals(0, copied.exit(), copied.toString());
            List<String> sandbox = List.of(script.toString(), "--unit", unit.toString(),
                    "--state", base.resolve("state").toString(), "--run", base.resolve("run").toString(), "--");

            // the sandbox itself, tried with a shell: what it refuses and what it leaves writable (the clock and the
            // host name are set to what they are, so a sandbox that let them through would change nothing)
            String writable = base.resolve("state/written").toString();
            E2eSupport.Run tried = E2eSupport.exec(Duration.ofSeconds(120), concat(sandbox, "/bin/sh", "-c",
                    "touch /usr/septum-e2e 2>&1; ls -A /root; echo root-listed=$?; unshare -U true 2>&1;"
                            + " date -s @$(date +%s) >/dev/null 2>&1; echo date=$?; hostname \"$(hostname)\" 2>&1;"
                            + " echo hostname=$?; mkdir /sys/fs/bpf/septum-e2e 2>&1; echo umask=$(umask);"
                            + " touch " + writable + " && echo state-writable"));
            String out = tried.out() + tried.err();
            assertTrue(out.contains("/usr/septum-e2e': Read-only file system"), "/usr is read-only: " + out);
            assertTrue((out.contains("root-listed=0") || out.contains("cannot open directory '/root': Permission denied"))
                    && !out.contains(".bashrc"), "/root is hidden: " + out);
            assertTrue(out.contains("unshare failed: Operation not permitted"), "no user namespace: " + out);
            assertTrue(out.contains("date=1"), "no clock change: " + out);
            assertTrue(out.contains("hostname=1"), "no host name change: " + out);
            assertTrue(out.contains("'/sys/fs/bpf/septum-e2e': Read-only file system"),
                    "bpffs is read-only outside the pin directory: " + out);
            assertTrue(out.contains("umask=0077"), "UMask=0077: " + out);
            assertTrue(out.contains("state-writable"), "the state directory stays writable: " + out);
            assertTrue(Files.notExists(Path.of("/usr/septum-e2e")));
            // the API socket's group, as the Debian package sets it: changing a file's group needs CAP_CHOWN
            Files.writeString(install.resolve("etc/io.septum.apiserver.cfg"), "socketGroup=nogroup\n");

            // the agent under it: ready, and enforcing with real packets
            // pins where the unit's ReadWritePaths= opens bpffs: under /sys/fs/bpf/septum (ExecStartPre makes it)
            Path pins = Path.of("/sys/fs/bpf/septum/e2e-sandbox-" + tag);
            lockFile = LOCKS.resolve(java.net.URLEncoder.encode(pins.toString(), java.nio.charset.StandardCharsets.UTF_8) + ".lock");
            try (E2eSupport.Agent agent = E2eSupport.Agent.startUnder(install.resolve("bin/septum"), base, pins, sandbox);
                 E2eNet net = new E2eNet()) {
                try {
                    // the agent itself is confined: seccomp filter, no new privileges, no capability beyond the unit's
                    ProcessHandle jvm = agent.jvm().orElseThrow(() -> new AssertionError("no agent JVM under the sandbox"));
                    String status = Files.readString(Path.of("/proc", Long.toString(jvm.pid()), "status"));
                    assertTrue(status.contains("Seccomp:\t2") && status.contains("NoNewPrivs:\t1"), status);
                    long bounding = Long.parseLong(status.replaceAll("(?s).*CapBnd:\\s*([0-9a-f]+).*", "$1"), 16);
                    assertEquals(0, bounding & ~UNIT_CAPS, "capabilities beyond the unit's: " + Long.toHexString(bounding));
                    assertEquals("nogroup", Files.getAttribute(agent.socket(), "posix:group").toString(),
                            "the API socket's group was set (CAP_CHOWN)");
                    E2eNet.Trio trio = E2eNet.Trio.registered(agent, net, "sbx", 80);
                    agent.importPolicy(base.resolve("policy.yaml"), trio.policy("sbx-server-from-client"));
                    boolean enforced = E2eSupport.await(Duration.ofSeconds(30), () ->
                            trio.enforced(net, Duration.ofMillis(1500), Duration.ofMillis(500)));
                    assertTrue(enforced, "the policy is enforced by the sandboxed agent: "
                            + agent.cli("endpoint", "list").out());
                    String log = Files.readString(agent.log);
                    assertTrue(!log.contains("SEVERE"), "no SEVERE line in the sandboxed agent's log");
                    // the pin directory's lock, where the unit lets the agent write it (ExecStartPre makes the folder)
                    assertTrue(!log.contains("would not be refused"), "the agent holds all its locks: " + log);
                    assertEquals(jvm.pid() + "\n", Files.readString(lockFile), "the pin directory's lock names the agent");
                } catch (RuntimeException | Error e) {
                    agent.printLog();
                    throw e;
                }
            }
        } finally {
            TestFiles.deleteTree(install);
            TestFiles.deleteTree(base);
            // the pin directory and the lock folder the unit's ExecStartPre made, when this test made them and left
            // them empty
            if (lockFile != null) Files.deleteIfExists(lockFile);
            E2eSupport.sh(Duration.ofSeconds(10), "rmdir", "--ignore-fail-on-non-empty", "/sys/fs/bpf/septum");
            if (!hadLocks) E2eSupport.sh(Duration.ofSeconds(10), "rmdir", "--ignore-fail-on-non-empty", LOCKS.toString());
        }
    }

    private static List<String> concat(List<String> head, String... tail) {
        List<String> all = new java.util.ArrayList<>(head);
        all.addAll(List.of(tail));
        return all;
    }
}

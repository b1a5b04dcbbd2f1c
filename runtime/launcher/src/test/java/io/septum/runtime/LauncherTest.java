package io.septum.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LauncherTest {
    @TempDir
    Path tmp;

    private LauncherOptions.Paths paths() {
        Path home = tmp.resolve("home");
        return new LauncherOptions.Paths(home, home.resolve("etc"), tmp.resolve("state"), tmp.resolve("run"),
                tmp.resolve("bpf"));
    }

    /**
     * The test JVM is started directly (no script before it), so its process started just before the JVM did: the
     * {@code /proc} figure must fall between a little before the JVM's creation and the end of its initialisation,
     * not a second early as {@code ProcessHandle}'s start instant can be. Where {@code /proc/uptime} is virtualised
     * the figure is implausible and the launcher uses the JVM's own start instead: nothing to check then.
     */
    @Test
    void processStartFromProcIsTheRealStart() {
        java.lang.management.RuntimeMXBean rt = java.lang.management.ManagementFactory.getRuntimeMXBean();
        long created = System.currentTimeMillis() - rt.getUptime();
        long initialised = rt.getStartTime();
        long fromProc = Launcher.processStartFromProc();
        // the launcher took the /proc figure (read again: /proc/uptime's 10 ms steps), not the JVM's start
        assumeTrue(fromProc > 0 && Math.abs(Launcher.jvmStartMillis() - fromProc) <= 20,
                "/proc gives no plausible start here (virtualised /proc/uptime?)");
        // exec and loading libjvm come before the JVM counts its own start: up to a few hundred ms on a loaded machine
        long earliest = Math.min(created, initialised) - 500;
        long latest = Math.max(created, initialised) + 30;
        assertTrue(fromProc >= earliest && fromProc <= latest, "process start " + fromProc + " vs the JVM created at "
                + created + " and initialised at " + initialised);
    }

    @Test
    void frameworkPropertiesTellBundlesWhereEverythingIs() {
        Map<String, String> m = Launcher.frameworkProperties(paths(), false);
        assertEquals(tmp.resolve("home").toString(), m.get("septum.home"));
        assertEquals(tmp.resolve("home/etc").toString(), m.get("septum.etc.dir"));
        assertEquals(tmp.resolve("state").toString(), m.get("septum.state.dir"));
        assertEquals(tmp.resolve("run").toString(), m.get("septum.run.dir"));
        assertEquals(tmp.resolve("bpf").toString(), m.get("septum.bpf.dir"));
        assertEquals(tmp.resolve("state/felix-cache").toString(), m.get("org.osgi.framework.storage"));
        assertEquals(null, m.get("org.osgi.framework.storage.clean"), "the bundle cache decides (BundleCache)");
        assertEquals(tmp.resolve("home/deploy") + "," + tmp.resolve("home/etc"), m.get("felix.fileinstall.dir"));
        assertEquals("skip", m.get("felix.fileinstall.subdir.mode"));
        assertEquals("true", m.get("felix.fileinstall.noInitialDelay"));
        assertTrue(m.get("org.osgi.framework.system.packages.extra").contains("sun.misc"));
        assertEquals("--nointeractive", m.get("gosh.args"));
        assertEquals("", Launcher.frameworkProperties(paths(), true).get("gosh.args"));
    }

    @Test
    void fileInstallFilterTakesBundlesAndConfigurationOnly() {
        String filter = Launcher.frameworkProperties(paths(), false).get("felix.fileinstall.filter");
        for (String yes : List.of("x.jar", "io.septum.policy.cfg", "a-b.config")) assertTrue(yes.matches(filter), yes);
        for (String no : List.of("logging.properties", "web.yaml", "x.jar.tmp", "README")) assertFalse(no.matches(filter), no);
    }

    @Test
    void directoriesAreCreatedWithTheirModes() throws Exception {
        LauncherOptions.Paths p = paths();
        Launcher.createDirectories(p);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(p.stateDir())));
        assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(p.runDir())));
        // An existing state directory that is too open is closed again.
        Files.setPosixFilePermissions(p.stateDir(), PosixFilePermissions.fromString("rwxrwxrwx"));
        Launcher.createDirectories(p);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(p.stateDir())));
    }

    @Test
    void anUncreatableDirectoryIsAPreciseError() throws Exception {
        Path file = Files.createFile(tmp.resolve("plain-file"));
        LauncherOptions.Paths p = new LauncherOptions.Paths(tmp, tmp.resolve("etc"), file.resolve("state"),
                tmp.resolve("run"), tmp.resolve("bpf"));
        Launcher.LaunchException e = assertThrows(Launcher.LaunchException.class, () -> Launcher.createDirectories(p));
        assertTrue(e.getMessage().contains(file.resolve("state").toString()), e.getMessage());
    }

    @Test
    void bundleDirectoryMustExist() {
        Launcher.LaunchException e = assertThrows(Launcher.LaunchException.class,
                () -> Launcher.bundleJars(tmp.resolve("nope/bundle")));
        assertTrue(e.getMessage().contains("--home"), e.getMessage());
    }

    @Test
    void bundlesAreTheJarsWithASymbolicName() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("bundle"));
        jar(dir.resolve("b.jar"), "b");
        jar(dir.resolve("a.jar"), "a");
        jar(dir.resolve("plain.jar"), null);
        Files.writeString(dir.resolve("notes.txt"), "x");
        List<Path> jars = Launcher.bundleJars(dir);
        assertEquals(List.of(dir.resolve("a.jar"), dir.resolve("b.jar"), dir.resolve("plain.jar")), jars);
        assertTrue(BundleCache.isBundle(dir.resolve("a.jar")));
        assertFalse(BundleCache.isBundle(dir.resolve("plain.jar")));
        assertFalse(BundleCache.isBundle(dir.resolve("notes.txt")));
    }

    @Test
    void operatorPropertiesCannotMoveTheLocations() throws Exception {
        Path f = tmp.resolve("framework.properties");
        Files.writeString(f, "org.osgi.framework.system.packages.extra=sun.misc,sun.nio.ch\n"
                + "septum.state.dir=/elsewhere\nseptum.home=/x\norg.osgi.framework.storage=/y\nseptum.other=1\n");
        Map<String, String> m = Launcher.operatorProperties(f);
        assertEquals(Map.of("org.osgi.framework.system.packages.extra", "sun.misc,sun.nio.ch", "septum.other", "1"), m);
        assertEquals(Map.of(), Launcher.operatorProperties(tmp.resolve("missing.properties")));
    }

    @Test
    void logLinesHaveTimeLevelLoggerAndMessage() {
        LogRecord r = new LogRecord(Level.WARNING, "cannot {0}\nsecond line");
        r.setParameters(new Object[] {"attach"});
        r.setLoggerName("io.septum.x");
        r.setInstant(java.time.Instant.parse("2026-01-02T03:04:05.678Z"));
        assertEquals("2026-01-02T03:04:05.678Z WARNING io.septum.x cannot attach second line" + System.lineSeparator(),
                new LogFormatter().format(r));
    }

    @Test
    void agentWithoutBundlesFailsWithExitCode() {
        assertEquals(2, Launcher.run(new String[] {"--no-such-option"}));
        assertEquals(0, Launcher.run(new String[] {"--help"}));
    }

    @Test
    void aLiveAgentInThePidFileIsRefusedAStaleOneIgnored() throws Exception {
        Path pidFile = tmp.resolve("septum.pid");
        Launcher.refuseSecondAgent(pidFile);
        Files.writeString(pidFile, "garbage\n");
        Launcher.refuseSecondAgent(pidFile);
        // A live process that is no agent (pid reused after a kill -9).
        Process sleeper = new ProcessBuilder("sleep", "30").start();
        try {
            Files.writeString(pidFile, sleeper.pid() + "\n");
            Launcher.refuseSecondAgent(pidFile);
        } finally {
            sleeper.destroyForcibly().waitFor();
        }
        Files.writeString(pidFile, sleeper.pid() + "\n");
        Launcher.refuseSecondAgent(pidFile);
        // A live agent: a process whose command line names the launcher's package.
        Process agent = new ProcessBuilder("bash", "-c", "exec -a io.septum.runtime.Main sleep 30").start();
        try {
            // the child is the spawn helper, then bash, then (exec -a) the "agent": wait for that last command line,
            // since /proc/PID/cmdline reads empty while an exec is under way
            Path cmdline = Path.of("/proc", Long.toString(agent.pid()), "cmdline");
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!Files.readString(cmdline).startsWith("io.septum.runtime.Main") && System.nanoTime() < end) {
                TimeUnit.MILLISECONDS.sleep(10); // poll interval
            }
            Files.writeString(pidFile, agent.pid() + "\n");
            Launcher.LaunchException e = assertThrows(Launcher.LaunchException.class, () -> Launcher.refuseSecondAgent(pidFile));
            assertTrue(e.getMessage().contains("pid " + agent.pid()), e.getMessage());
        } finally {
            agent.destroyForcibly().waitFor();
        }
    }

    private static void jar(Path path, String bsn) throws Exception {
        Manifest mf = new Manifest();
        mf.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        if (bsn != null) {
            mf.getMainAttributes().putValue("Bundle-ManifestVersion", "2");
            mf.getMainAttributes().putValue("Bundle-SymbolicName", bsn);
        }
        try (OutputStream out = Files.newOutputStream(path); JarOutputStream j = new JarOutputStream(out, mf)) {
            j.flush();
        }
    }
}

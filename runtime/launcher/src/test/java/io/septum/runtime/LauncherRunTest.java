package io.septum.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.septum.api.AgentReady;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Bundle;
import org.osgi.framework.launch.Framework;

/** The launcher for real: Felix starts from an install tree, the ready marker is noticed, systemd hears of it. */
class LauncherRunTest {
    @TempDir
    Path tmp;
    private Launcher launcher;
    private Process listener;

    @AfterEach
    void stop() throws Exception {
        if (launcher != null) {
            launcher.requestStop("test end");
            launcher.awaitStop();
        }
        if (listener != null) listener.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        System.clearProperty(Launcher.PROP_START_TO_READY);
    }

    private LauncherOptions.Paths tree() throws IOException {
        return tree(tmp);
    }

    /** The launcher's environment: the BPF pin directory's lock is kept in this test's own lock directory. */
    private Map<String, String> env() {
        return Map.of(Launcher.LOCK_DIR_ENV, tmp.resolve("locks").toString());
    }

    /** An empty install tree (bundle/, deploy/, etc/) with state, run and BPF directories, all under {@code tmp}. */
    static LauncherOptions.Paths tree(Path tmp) throws IOException {
        Path home = tmp.resolve("septum");
        Files.createDirectories(home.resolve("bundle"));
        Files.createDirectories(home.resolve("deploy"));
        Files.createDirectories(home.resolve("etc"));
        return new LauncherOptions.Paths(home, home.resolve("etc"), tmp.resolve("state"), tmp.resolve("run"),
                tmp.resolve("bpf"));
    }

    @Test
    void startsFelixWritesThePidFileAndStopsCleanly() throws Exception {
        LauncherOptions.Paths p = tree();
        Files.createDirectories(p.frameworkStorage().resolve("bundle99"));
        launcher = new Launcher(p, false, System.currentTimeMillis(), env());
        Framework fw = launcher.start();
        assertEquals(Bundle.ACTIVE, fw.getState());
        assertEquals(p.stateDir().toString(), fw.getBundleContext().getProperty("septum.state.dir"));
        assertEquals(p.etcDir().toString(), fw.getBundleContext().getProperty("septum.etc.dir"));
        assertFalse(Files.exists(p.frameworkStorage().resolve("bundle99")), "the framework cache is cleaned on start");
        assertEquals(ProcessHandle.current().pid() + "", Files.readString(p.pidFile()).trim());

        launcher.requestStop("test");
        assertEquals(0, launcher.awaitStop());
        launcher = null;
        assertFalse(Files.exists(p.pidFile()), "pid file removed on stop");
    }

    @Test
    void readyMarkerIsMatchedByNameAndReported() throws Exception {
        LauncherOptions.Paths p = tree();
        long start = System.currentTimeMillis() - 1000;
        launcher = new Launcher(p, false, start, env());
        Framework fw = launcher.start();
        assertEquals(null, System.getProperty(Launcher.PROP_START_TO_READY));
        fw.getBundleContext().registerService("io.septum.api.AgentReady", (AgentReady) () -> 42L, null);
        await("start-to-ready property", () -> System.getProperty(Launcher.PROP_START_TO_READY) != null);
        assertTrue(Long.parseLong(System.getProperty(Launcher.PROP_START_TO_READY)) >= 1000);
    }

    @Test
    void readyMarkerOfABundleWithItsOwnApiCopyIsNoticed() throws Exception {
        LauncherOptions.Paths p = tree();
        readyBundle(p.bundleDir().resolve("sept-t-ready.jar"));
        launcher = new Launcher(p, false, System.currentTimeMillis(), env());
        Framework fw = launcher.start();
        Bundle b = java.util.Arrays.stream(fw.getBundleContext().getBundles())
                .filter(x -> "sept-t-ready".equals(x.getSymbolicName())).findFirst().orElseThrow();
        assertEquals(Bundle.ACTIVE, b.getState());
        assertTrue(b.loadClass(AgentReady.class.getName()) != AgentReady.class, "the bundle has its own API class");
        await("start-to-ready property", () -> System.getProperty(Launcher.PROP_START_TO_READY) != null);
    }

    /** A bundle holding ReadyActivator and its own copy of io.septum.api.AgentReady, from the test classpath. */
    private static void readyBundle(Path jar) throws IOException {
        java.util.jar.Manifest mf = new java.util.jar.Manifest();
        java.util.jar.Attributes a = mf.getMainAttributes();
        a.put(java.util.jar.Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Bundle-ManifestVersion", "2");
        a.putValue("Bundle-SymbolicName", "sept-t-ready");
        a.putValue("Bundle-Activator", "io.septum.runtime.readybundle.ReadyActivator");
        a.putValue("Import-Package", "org.osgi.framework");
        try (var out = new java.util.jar.JarOutputStream(Files.newOutputStream(jar), mf)) {
            for (Class<?> c : java.util.List.of(AgentReady.class, io.septum.runtime.readybundle.ReadyActivator.class,
                    Class.forName("io.septum.runtime.readybundle.ReadyActivator$Ready"))) {
                String name = c.getName().replace('.', '/') + ".class";
                out.putNextEntry(new java.util.jar.JarEntry(name));
                try (var in = c.getClassLoader().getResourceAsStream(name)) {
                    in.transferTo(out);
                }
                out.closeEntry();
            }
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void systemdIsNotifiedWithTheAgentsPid() throws Exception {
        assumeTrue(onPath("systemd-notify") && onPath("socat"), "needs systemd-notify and socat");
        LauncherOptions.Paths p = tree();
        Path socket = tmp.resolve("notify.sock");
        Path received = tmp.resolve("received");
        listener = new ProcessBuilder("socat", "-u", "UNIX-RECV:" + socket, "OPEN:" + received + ",creat,append")
                .redirectErrorStream(true).start();
        await("socat listening on " + socket, () -> Files.exists(socket));
        launcher = new Launcher(p, false, System.currentTimeMillis(), Map.of("NOTIFY_SOCKET", socket.toString(), Launcher.LOCK_DIR_ENV, tmp.resolve("locks").toString()));
        Framework fw = launcher.start();
        fw.getBundleContext().registerService("io.septum.api.AgentReady", (AgentReady) () -> 42L, null);
        await("READY=1 on the notify socket", () -> read(received).contains("READY=1"));
        String msg = read(received);
        assertTrue(msg.contains("MAINPID=" + ProcessHandle.current().pid()), msg);
        assertTrue(msg.contains("STATUS=Ready in "), msg);
    }

    /** The real process: SIGTERM stops the framework and exits 0 (143 would read as a failure to systemd). */
    @Test
    void sigtermStopsTheAgentWithExitCodeZero() throws Exception {
        LauncherOptions.Paths p = tree();
        Process agent = runningAgent(p);
        try {
            agent.destroy(); // SIGTERM
            assertTrue(agent.waitFor(30, TimeUnit.SECONDS), "agent still running 30 s after SIGTERM");
            String log = read(tmp.resolve("agent.log"));
            assertEquals(0, agent.exitValue(), log);
            assertTrue(log.contains("Septum stopping (SIGTERM)"), log);
            assertFalse(Files.exists(p.pidFile()), "pid file removed");
        } finally {
            agent.destroyForcibly();
        }
    }

    /** {@link #agentProcess}, once it has written its pid file (ended if it does not). */
    private Process runningAgent(LauncherOptions.Paths p) throws Exception {
        Process agent = agentProcess(p);
        try {
            await("the agent's pid file", () -> read(p.pidFile()).trim().equals(Long.toString(agent.pid())));
            return agent;
        } catch (Exception | AssertionError e) {
            agent.destroyForcibly();
            throw e;
        }
    }

    /** {@code septum agent} in a process of its own on the tree {@code p}, its output in {@code agent.log}. */
    private Process agentProcess(LauncherOptions.Paths p) throws IOException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder b = new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "agent", "--home", p.home().toString(), "--state-dir", p.stateDir().toString(),
                "--run-dir", p.runDir().toString(), "--bpf-dir", p.bpfDir().toString());
        b.environment().putAll(env());
        return b.redirectErrorStream(true).redirectOutput(tmp.resolve("agent.log").toFile()).start();
    }

    /**
     * A second agent on a state directory in use is refused before it touches it (its own run directory, so the pid
     * file does not stop it); refused for another reason, it leaves its own state directory unlocked; once the first
     * has stopped, the directory is free.
     */
    @Test
    void aSecondAgentOnTheSameStateDirectoryIsRefusedUntilTheFirstHasStopped() throws Exception {
        LauncherOptions.Paths p = tree();
        Process agent = runningAgent(p);
        try {
            java.util.List<String> cache = listing(p.frameworkStorage());
            assertFalse(cache.isEmpty(), "the first agent's bundle cache");

            LauncherOptions.Paths otherRun = new LauncherOptions.Paths(p.home(), p.etcDir(), p.stateDir(),
                    tmp.resolve("run2"), p.bpfDir());
            Launcher.LaunchException refused = assertThrows(Launcher.LaunchException.class,
                    () -> new Launcher(otherRun, false, System.currentTimeMillis(), env()).start());
            assertTrue(refused.getMessage().contains("(pid " + agent.pid() + ") is using the state directory "
                    + p.stateDir()), refused.getMessage());
            assertTrue(agent.isAlive(), "the first agent runs on");
            assertEquals(cache, listing(p.frameworkStorage()), "the first agent's cache is left alone");

            // refused for its run directory: its own, other, state directory is not left locked
            LauncherOptions.Paths otherState = new LauncherOptions.Paths(p.home(), p.etcDir(), tmp.resolve("state2"),
                    p.runDir(), p.bpfDir());
            Launcher.LaunchException byRun = assertThrows(Launcher.LaunchException.class,
                    () -> new Launcher(otherState, false, System.currentTimeMillis(), env()).start());
            assertTrue(byRun.getMessage().contains("(pid " + agent.pid() + ") is using the run directory " + p.runDir()),
                    byRun.getMessage());
            // its own state and run directories, but the first one's BPF pins: refused too
            LauncherOptions.Paths otherBoth = new LauncherOptions.Paths(p.home(), p.etcDir(), tmp.resolve("state2"),
                    tmp.resolve("run3"), p.bpfDir());
            Launcher.LaunchException byPins = assertThrows(Launcher.LaunchException.class,
                    () -> new Launcher(otherBoth, false, System.currentTimeMillis(), env()).start());
            assertTrue(byPins.getMessage().contains("(pid " + agent.pid() + ") is using the BPF pin directory "
                    + p.bpfDir() + " (" + tmp.resolve("locks") + "/"), byPins.getMessage());
            assertTrue(byPins.getMessage().endsWith("give this one another --bpf-dir"), byPins.getMessage());
            LauncherOptions.Paths otherAll = new LauncherOptions.Paths(p.home(), p.etcDir(), tmp.resolve("state2"),
                    tmp.resolve("run3"), tmp.resolve("bpf2"));
            launcher = new Launcher(otherAll, false, System.currentTimeMillis(), env());
            launcher.start();
            launcher.requestStop("test");
            assertEquals(0, launcher.awaitStop());
            launcher = null;

            agent.destroy(); // SIGTERM
            assertTrue(agent.waitFor(30, TimeUnit.SECONDS), "agent still running 30 s after SIGTERM");
        } finally {
            agent.destroyForcibly();
        }
        launcher = new Launcher(p, false, System.currentTimeMillis(), env());
        assertEquals(Bundle.ACTIVE, launcher.start().getState());
        assertEquals(ProcessHandle.current().pid() + "\n", Files.readString(p.stateDir().resolve(DirLock.FILE)));
    }

    /** In one JVM too (two launchers): the lock is held until the first has stopped, then the second may start. */
    @Test
    void theStateDirectoryIsFreeOnceTheAgentHasStopped() throws Exception {
        LauncherOptions.Paths p = tree();
        launcher = new Launcher(p, false, System.currentTimeMillis(), env());
        launcher.start();
        LauncherOptions.Paths otherRun = new LauncherOptions.Paths(p.home(), p.etcDir(), p.stateDir(),
                tmp.resolve("run2"), p.bpfDir());
        Launcher second = new Launcher(otherRun, false, System.currentTimeMillis(), env());
        Launcher.LaunchException refused = assertThrows(Launcher.LaunchException.class, second::start);
        assertTrue(refused.getMessage().contains("is using the state directory " + p.stateDir()), refused.getMessage());
        // the refusal did not drop the first one's lock in the kernel (a record lock goes with any descriptor closed)
        Process other = agentProcess(otherRun);
        assertTrue(other.waitFor(30, TimeUnit.SECONDS), "a refused agent ends");
        String log = read(tmp.resolve("agent.log"));
        assertEquals(1, other.exitValue(), log);
        assertTrue(log.contains("(pid " + ProcessHandle.current().pid() + ") is using the state directory "), log);

        launcher.requestStop("test");
        assertEquals(0, launcher.awaitStop());
        assertEquals("", Files.readString(p.stateDir().resolve(DirLock.FILE)), "no holder after the stop");
        launcher = second;
        assertEquals(Bundle.ACTIVE, second.start().getState());
    }

    /** A stop started inside the framework (Gogo's exit, a bundle) is watched as well. */
    @Test
    void aStopFromInsideTheFrameworkIsWatchedToo() throws Exception {
        LauncherOptions.Paths p = tree();
        java.util.concurrent.CompletableFuture<Integer> halted = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        launcher = new Launcher(p, false, System.currentTimeMillis(), env(), 500, halted::complete);
        Framework fw = launcher.start();
        try {
            blockStopping(fw, release);
            fw.stop(); // not through the launcher
            assertEquals(1, halted.get(20, TimeUnit.SECONDS));
        } finally {
            release.countDown();
        }
        assertEquals(0, launcher.awaitStop());
        launcher = null;
    }

    /** A stop that hangs ends the process after the stop timeout, naming the stuck thread; a clean one does not. */
    @Test
    void aStopThatHangsEndsTheProcessAfterTheTimeoutNamingTheStuckThread() throws Exception {
        LauncherOptions.Paths p = tree();
        java.util.concurrent.CompletableFuture<Integer> halted = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        java.util.List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Handler capture = new java.util.logging.Handler() {
            @Override public void publish(java.util.logging.LogRecord r) {
                logged.add(r.getMessage());
            }

            @Override public void flush() {
            }

            @Override public void close() {
            }
        };
        java.util.logging.Logger log = java.util.logging.Logger.getLogger(Launcher.class.getName());
        log.addHandler(capture);
        launcher = new Launcher(p, false, System.currentTimeMillis(), env(), 500, halted::complete);
        Framework fw = launcher.start();
        try {
            blockStopping(fw, release);
            launcher.requestStop("test");
            assertEquals(1, halted.get(20, TimeUnit.SECONDS));
            String severe = logged.stream().filter(m -> m.startsWith("Septum did not stop within 0.5 s")).findFirst()
                    .orElseThrow(() -> new AssertionError("no stop-timeout message in " + logged));
            // the thread that stops the framework, waiting in the listener (the test's own thread waits elsewhere)
            assertTrue(severe.contains("CountDownLatch.await"), "the stuck frame is named: " + severe);
            assertFalse(Files.exists(p.pidFile()), "pid file removed before the process ends");
        } finally {
            release.countDown();
            log.removeHandler(capture);
        }
        assertEquals(0, launcher.awaitStop());
        launcher = null;

        // a stop that finishes in time leaves the process alone
        java.util.concurrent.CompletableFuture<Integer> notHalted = new java.util.concurrent.CompletableFuture<>();
        Launcher clean = new Launcher(p, false, System.currentTimeMillis(), env(), 2_000, notHalted::complete);
        clean.start();
        clean.requestStop("test");
        assertEquals(0, clean.awaitStop());
        Thread.sleep(2_500); // past the timeout: a watch that halted regardless would have by now
        assertFalse(notHalted.isDone(), "a clean stop ended the process");
    }

    /**
     * A synchronous listener runs on the thread that stops the framework: blocked until {@code release}, it stands
     * for a deactivation that waits on something that never comes.
     */
    private static void blockStopping(Framework fw, java.util.concurrent.CountDownLatch release) {
        fw.getBundleContext().addBundleListener((org.osgi.framework.SynchronousBundleListener) ev -> {
            if (ev.getType() == org.osgi.framework.BundleEvent.STOPPING) {
                try {
                    release.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
    }

    /** Every file and directory under {@code dir}, relative, sorted. */
    private static java.util.List<String> listing(Path dir) throws IOException {
        try (var files = Files.walk(dir)) {
            return files.map(f -> dir.relativize(f).toString()).sorted().toList();
        }
    }

    private static String read(Path f) {
        try {
            return Files.exists(f) ? Files.readString(f) : "";
        } catch (IOException e) {
            return "";
        }
    }

    private static boolean onPath(String cmd) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, cmd))) return true;
        }
        return false;
    }

    private static void await(String what, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("timed out waiting for " + what);
            Thread.sleep(20);
        }
    }
}

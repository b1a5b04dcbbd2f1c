package io.septum.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.jar.JarFile;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;
import org.apache.felix.framework.Felix;
import org.osgi.framework.AllServiceListener;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceEvent;
import org.osgi.framework.launch.Framework;

/**
 * {@code septum agent}: runs Felix in the foreground with every bundle of {@code <home>/bundle}, reports the time
 * from JVM start to the agent's ready marker, tells systemd when it is ready, and stops the framework cleanly on
 * SIGTERM. Stopping never touches the datapath: bundles leave BPF programs attached and maps pinned.
 */
public final class Launcher {
    static final String READY_FILTER = "(" + Constants.OBJECTCLASS + "=io.septum.api.AgentReady)";
    /** System property holding the JVM start (epoch millis); bundles read it through BundleContext.getProperty. */
    public static final String PROP_JVM_START = "septum.jvm.start.millis";
    /** System property set once the agent is ready: milliseconds from JVM start to ready. */
    public static final String PROP_START_TO_READY = "septum.start.to.ready.millis";

    private static final Logger LOG = Logger.getLogger(Launcher.class.getName());
    private static final long READY_WARNING_MILLIS = 60_000;
    /** How long a stop may take before the agent gives up on it, unless --stop-timeout says otherwise. */
    static final long STOP_TIMEOUT_MILLIS = TimeUnit.SECONDS.toMillis(LauncherOptions.DEFAULT_STOP_TIMEOUT_SECONDS);

    private final LauncherOptions.Paths paths;
    private final boolean console;
    private final long jvmStart;
    private final String notifySocket;
    private final AtomicBoolean ready = new AtomicBoolean();
    private final AtomicBoolean stopWatched = new AtomicBoolean();
    private final long stopTimeoutMillis;
    private final java.util.function.IntConsumer halt;
    private volatile Framework framework;
    /** The bundle cache of this start; told of an orderly stop. */
    private volatile BundleCache bundleCache;
    /**
     * Where the lock of the BPF pin directory is kept (bpffs holds pins only): a directory every agent on the host
     * sees, {@value #DEFAULT_LOCK_DIR} unless {@value #LOCK_DIR_ENV} names another.
     */
    static final String DEFAULT_LOCK_DIR = "/run/lock/septum";
    static final String LOCK_DIR_ENV = "SEPTUM_LOCK_DIR";
    private final Path lockDir;
    /** The locks of the state, run and BPF pin directories, held from the start until the framework has stopped. */
    private final java.util.Deque<DirLock> locks = new java.util.concurrent.ConcurrentLinkedDeque<>();

    Launcher(LauncherOptions.Paths paths, boolean console, long jvmStart, Map<String, String> env) {
        this(paths, console, jvmStart, env, STOP_TIMEOUT_MILLIS, code -> Runtime.getRuntime().halt(code));
    }

    /** {@code halt} ends the process when a stop does not finish within {@code stopTimeoutMillis}. */
    Launcher(LauncherOptions.Paths paths, boolean console, long jvmStart, Map<String, String> env,
             long stopTimeoutMillis, java.util.function.IntConsumer halt) {
        this.stopTimeoutMillis = stopTimeoutMillis;
        this.halt = halt;
        this.paths = paths;
        this.console = console;
        this.jvmStart = jvmStart;
        String socket = env.get("NOTIFY_SOCKET");
        this.notifySocket = socket == null || socket.isEmpty() ? null : socket;
        String locks = env.get(LOCK_DIR_ENV);
        this.lockDir = Path.of(locks == null || locks.isBlank() ? DEFAULT_LOCK_DIR : locks).toAbsolutePath().normalize();
    }

    /** Parses the options and runs the agent until the framework stops; returns the process exit code. */
    public static int run(String[] args) {
        LauncherOptions options;
        try {
            options = LauncherOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("septum agent: " + e.getMessage());
            System.err.print(LauncherOptions.usage());
            return 2;
        }
        if (options.help) {
            System.out.print(LauncherOptions.usage());
            return 0;
        }
        LauncherOptions.Paths paths;
        try {
            paths = options.resolve(System.getenv(), Launcher.class.getProtectionDomain().getCodeSource().getLocation());
        } catch (IllegalArgumentException e) {
            System.err.println("septum agent: " + e.getMessage());
            return 2;
        }
        configureLogging(paths.etcDir());
        Launcher launcher = new Launcher(paths, options.console, jvmStartMillis(), System.getenv(),
                TimeUnit.SECONDS.toMillis(options.stopTimeoutSeconds), code -> Runtime.getRuntime().halt(code));
        Runtime.getRuntime().addShutdownHook(new Thread(launcher::stopOnExit, "septum-shutdown"));
        launcher.installSignalHandlers();
        try {
            launcher.start();
        } catch (LaunchException e) {
            LOG.severe(e.getMessage());
            launcher.stopOnExit();
            return 1;
        }
        return launcher.awaitStop();
    }

    /** Creates the directories, starts the framework with every bundle of bundle/, and writes the pid file. */
    Framework start() throws LaunchException {
        List<Path> jars = bundleJars(paths.bundleDir());
        createDirectories(paths);
        boolean started = false;
        try {
            locks.push(DirLock.acquire(paths.stateDir(), "state directory", "--state-dir"));
            locks.push(DirLock.acquire(paths.runDir(), "run directory", "--run-dir"));
            locks.push(DirLock.acquireIn(lockDir, paths.bpfDir(), "BPF pin directory", "--bpf-dir"));
            Framework fw = startLocked(jars);
            started = true;
            return fw;
        } finally {
            // a framework that was created is stopped first (stopOnExit), and the process ends with its locks
            if (!started && framework == null) releaseLocks();
        }
    }

    private Framework startLocked(List<Path> jars) throws LaunchException {
        refuseSecondAgent(paths.pidFile());
        System.setProperty(PROP_JVM_START, Long.toString(jvmStart));
        if (!console) headlessTerminal();
        Map<String, Object> config = new HashMap<>(frameworkProperties(paths, console));
        config.putAll(operatorProperties(paths.etcDir().resolve("framework.properties")));
        config.put("felix.log.logger", new FelixLogger());
        // The bundle cache is kept between starts (BundleCache), unless etc/framework.properties asks for an empty
        // one on every start (org.osgi.framework.storage.clean=onFirstInit).
        BundleCache cache = new BundleCache(paths.frameworkStorage());
        bundleCache = cache;
        Object clean = config.get(Constants.FRAMEWORK_STORAGE_CLEAN);
        // as Felix reads it: any value but onFirstInit keeps the cache
        config.put(Constants.FRAMEWORK_STORAGE_CLEAN, cache.open(clean == null
                || !Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT.equalsIgnoreCase(clean.toString())));
        LOG.info(() -> "Septum starting: home " + paths.home() + ", state " + paths.stateDir() + ", run "
                + paths.runDir() + ", bpf " + paths.bpfDir() + ", " + jars.size() + " bundles");

        Framework fw = initFramework(config, cache);
        framework = fw;
        try {
            BundleContext ctx = fw.getBundleContext();
            watchReady(ctx);
            // every stop is watched, also one started inside the framework (Gogo's exit, a bundle stopping it)
            ctx.addBundleListener((org.osgi.framework.SynchronousBundleListener) ev -> {
                if (ev.getType() == org.osgi.framework.BundleEvent.STOPPING && ev.getBundle().getBundleId() == 0) watchStop(fw);
            });
            List<Bundle> installed = cache.sync(ctx, jars);
            // Marking bundles started before the framework starts lets the resolver see all of them at once.
            for (Bundle b : installed) {
                if (b.getHeaders().get(Constants.FRAGMENT_HOST) != null) continue;
                try {
                    b.start();
                } catch (BundleException e) {
                    LOG.log(Level.SEVERE, "cannot start bundle " + b.getSymbolicName() + " (" + b.getLocation() + "): "
                            + e.getMessage(), e);
                }
            }
            fw.start();
            warnIfNotReady(ctx, READY_WARNING_MILLIS);
        } catch (BundleException e) {
            throw frameworkFailed(e);
        }
        writePidFile();
        return fw;
    }

    /**
     * A Felix framework, initialised on the kept bundle cache; when that cannot be opened (a cache another Felix
     * wrote, a damaged one), on an empty cache instead.
     */
    private Framework initFramework(Map<String, Object> config, BundleCache cache) throws LaunchException {
        Framework fw = new Felix(config);
        try {
            fw.init();
            return fw;
        } catch (BundleException e) {
            if (Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT.equals(config.get(Constants.FRAMEWORK_STORAGE_CLEAN))) {
                throw frameworkFailed(e);
            }
            LOG.warning(() -> "cannot open the bundle cache " + paths.frameworkStorage() + " (" + e.getMessage()
                    + "): starting from an empty one");
        }
        config.put(Constants.FRAMEWORK_STORAGE_CLEAN, cache.reset());
        fw = new Felix(config);
        try {
            fw.init();
            return fw;
        } catch (BundleException e) {
            throw frameworkFailed(e);
        }
    }

    private LaunchException frameworkFailed(BundleException e) {
        return new LaunchException("cannot start the OSGi framework: " + e.getMessage()
                + " (framework storage: " + paths.frameworkStorage() + ")", e);
    }

    /** Waits until the framework stops (SIGTERM, Gogo's exit, a bundle stopping it); returns the exit code. */
    int awaitStop() {
        Framework fw = framework;
        boolean stopped = false;
        try {
            FrameworkEvent stop = fw.waitForStop(0);
            stopped = true;
            if (stop.getType() == FrameworkEvent.ERROR) {
                LOG.log(Level.SEVERE, "framework stopped with an error", stop.getThrowable());
                return 1;
            }
            BundleCache cache = bundleCache;
            if (cache != null && stop.getType() == FrameworkEvent.STOPPED) {
                try {
                    cache.stopped();
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "cannot record the bundle cache; the next start installs every bundle afresh", e);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            deletePidFile();
            if (stopped) releaseLocks(); // after the bundle cache's index: the next agent may open it now
        }
        LOG.info("Septum stopped (BPF programs stay attached and maps stay pinned)");
        return 0;
    }

    /** The framework properties every bundle reads: where things live, hot deployment, console, logging. */
    static Map<String, String> frameworkProperties(LauncherOptions.Paths p, boolean console) {
        Map<String, String> m = new HashMap<>();
        m.put(Constants.FRAMEWORK_STORAGE, p.frameworkStorage().toString());
        m.put(Constants.FRAMEWORK_SYSTEMPACKAGES_EXTRA, "sun.misc");
        m.put(Constants.FRAMEWORK_BEGINNING_STARTLEVEL, "100");
        m.put("septum.home", p.home().toString());
        m.put("septum.etc.dir", p.etcDir().toString());
        m.put("septum.state.dir", p.stateDir().toString());
        m.put("septum.run.dir", p.runDir().toString());
        m.put("septum.bpf.dir", p.bpfDir().toString());
        // One FileInstall watcher per directory: bundles dropped in deploy/, *.cfg files in etc/. Subdirectories
        // (etc/endpoints/) belong to their bundles, not to FileInstall, which would take them for exploded jars.
        m.put("felix.fileinstall.dir", p.deployDir() + "," + p.etcDir());
        m.put("felix.fileinstall.filter", ".*\\.(jar|cfg|config)");
        m.put("felix.fileinstall.subdir.mode", "skip");
        m.put("felix.fileinstall.poll", "1000");
        // etc/*.cfg belong to the operator: the agent reads them and never writes them back. FileInstall's
        // write-back of a configuration change could also race with the operator's next edit and undo it.
        m.put("felix.fileinstall.enableConfigSave", "false");
        m.put("felix.fileinstall.noInitialDelay", "true");
        m.put("felix.fileinstall.start.level", "80");
        m.put("felix.fileinstall.log.default", "jul");
        m.put("felix.fileinstall.log.level", "3");
        m.put("gosh.args", console ? "" : "--nointeractive");
        // <home>/etc/gosh_profile replaces Gogo's own, whose line-editor settings fail without a console.
        m.put("gosh.home", p.home().toString());
        m.put("ds.loglevel", "warn");
        m.put("felix.log.level", "2");
        return m;
    }

    /**
     * Without {@code --console}, Gogo still builds a terminal: make it a dumb one. A system terminal would take
     * over SIGINT (Gogo ignores it) and warn on every start under systemd, where there is no tty.
     */
    private static void headlessTerminal() {
        for (String p : List.of("org.jline.terminal.exec", "org.jline.terminal.jna", "org.jline.terminal.jansi")) {
            System.setProperty(p, "false");
        }
        System.setProperty("org.jline.terminal.dumb", "true");
    }

    /**
     * Optional {@code etc/framework.properties}: extra framework properties for operators (e.g. more
     * system packages). The locations stay the launcher's, so that every bundle agrees with the pid file.
     */
    static Map<String, String> operatorProperties(Path file) throws LaunchException {
        Map<String, String> m = new HashMap<>();
        if (!Files.isRegularFile(file)) return m;
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException e) {
            throw new LaunchException("cannot read " + file + ": " + e.getMessage(), e);
        }
        for (String k : p.stringPropertyNames()) {
            if (k.startsWith("septum.") && k.endsWith(".dir") || k.equals("septum.home")
                    || k.equals(Constants.FRAMEWORK_STORAGE)) {
                LOG.warning(() -> file + ": ignoring " + k + " (set locations with septum agent options)");
                continue;
            }
            m.put(k, p.getProperty(k));
        }
        return m;
    }

    static List<Path> bundleJars(Path dir) throws LaunchException {
        if (!Files.isDirectory(dir)) {
            throw new LaunchException("no bundle directory " + dir + ": --home (or SEPTUM_HOME) must name the "
                    + "unpacked distribution, e.g. distribution/target/septum");
        }
        List<Path> jars = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.jar")) {
            ds.forEach(jars::add);
        } catch (IOException e) {
            throw new LaunchException("cannot list " + dir + ": " + e.getMessage(), e);
        }
        jars.sort(null);
        return jars;
    }

    static void createDirectories(LauncherOptions.Paths p) throws LaunchException {
        createDirectory(p.stateDir(), "rwx------");
        createDirectory(p.runDir(), "rwxr-xr-x");
    }

    private static void createDirectory(Path dir, String mode) throws LaunchException {
        try {
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString(mode));
        } catch (IOException | UnsupportedOperationException e) {
            throw new LaunchException("cannot create " + dir + " (mode " + mode + "): " + messageOf(e)
                    + "; run as root or choose another directory with the agent's options", e);
        }
    }

    /**
     * The launcher's class space has its own copy of the API, so the ready marker is matched by class name, not
     * by class, and with an {@link AllServiceListener}: a plain listener only hears of services whose class it
     * shares with the registering bundle, and the system bundle shares none of the agent's.
     */
    private void watchReady(BundleContext ctx) {
        AllServiceListener listener = ev -> {
            if (ev.getType() == ServiceEvent.REGISTERED) onReady();
        };
        try {
            ctx.addServiceListener(listener, READY_FILTER);
            if (ctx.getAllServiceReferences(null, READY_FILTER) != null) onReady();
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * An agent that never gets ready only shows as "activating" in systemd: say which bundles are not active,
     * which is usually the reason (a missing import, a failed activation).
     */
    private void warnIfNotReady(BundleContext ctx, long afterMillis) {
        java.util.Timer timer = new java.util.Timer("septum-ready-watch", true);
        timer.schedule(new java.util.TimerTask() {
            @Override
            public void run() {
                timer.cancel();
                if (ready.get()) return;
                StringBuilder inactive = new StringBuilder();
                try {
                    for (Bundle b : ctx.getBundles()) {
                        if (b.getState() != Bundle.ACTIVE && b.getHeaders().get(Constants.FRAGMENT_HOST) == null) {
                            inactive.append(inactive.length() == 0 ? "" : ", ").append(b.getSymbolicName());
                        }
                    }
                } catch (IllegalStateException e) {
                    return; // the framework is stopping
                }
                LOG.warning("Septum is not ready " + afterMillis / 1000 + " s after start; bundles not active: "
                        + (inactive.length() == 0 ? "none" : inactive) + " (see the errors above, and septum status)");
            }
        }, afterMillis);
    }

    private void onReady() {
        if (!ready.compareAndSet(false, true)) return;
        long millis = System.currentTimeMillis() - jvmStart;
        System.setProperty(PROP_START_TO_READY, Long.toString(millis));
        LOG.info(() -> "Septum ready in " + millis + " ms (JVM start to ready)");
        if (notifySocket != null) {
            // Service events are delivered on the registering bundle's thread: do not make it wait for systemd.
            Thread t = new Thread(() -> notifySystemd(notifySocket, millis), "septum-sd-notify");
            t.setDaemon(true);
            t.start();
        }
    }

    /** {@code --pid} makes systemd attribute the message to this JVM (the unit sets NotifyAccess=all). */
    private static void notifySystemd(String socket, long millis) {
        List<String> cmd = List.of("systemd-notify", "--ready", "--pid=" + ProcessHandle.current().pid(),
                "--status=Ready in " + millis + " ms");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
            pb.environment().put("NOTIFY_SOCKET", socket);
            Process p = pb.start();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                LOG.warning("systemd-notify did not finish in 10 s; systemd may not see the agent as started");
            } else if (p.exitValue() != 0) {
                LOG.warning("systemd-notify --ready exited with " + p.exitValue() + "; systemd may not see the agent as started");
            }
        } catch (IOException e) {
            LOG.warning("cannot run systemd-notify (" + e.getMessage() + "); install systemd or use Type=simple");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Two agents on one run directory would fight over the API socket, the pins and the framework cache. A pid file
     * left by a killed agent names a dead process (or one that is no agent), and is ignored.
     */
    static void refuseSecondAgent(Path pidFile) throws LaunchException {
        long pid;
        try {
            pid = Long.parseLong(Files.readString(pidFile).trim());
        } catch (IOException | NumberFormatException e) {
            return;
        }
        if (pid == ProcessHandle.current().pid()) return;
        boolean agent = ProcessHandle.of(pid).filter(ProcessHandle::isAlive).isPresent() && isAgent(pid);
        if (agent) {
            throw new LaunchException("another Septum agent (pid " + pid + ", " + pidFile + ") is running: stop it "
                    + "first (kill " + pid + ", or systemctl stop septum), or give this one other --run-dir and --state-dir");
        }
    }

    private static boolean isAgent(long pid) {
        try {
            byte[] cmdline = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
            return new String(cmdline, StandardCharsets.UTF_8).contains(Main.class.getName().replace("Main", ""));
        } catch (IOException e) {
            return false;
        }
    }

    private void writePidFile() throws LaunchException {
        try {
            Files.writeString(paths.pidFile(), ProcessHandle.current().pid() + "\n");
        } catch (IOException e) {
            throw new LaunchException("cannot write " + paths.pidFile() + ": " + e.getMessage(), e);
        }
    }

    private void releaseLocks() {
        for (DirLock lock; (lock = locks.poll()) != null; ) lock.close();
    }

    private void deletePidFile() {
        try {
            String content = Files.readString(paths.pidFile()).trim();
            // A second agent may have taken over the run dir; its pid file is not ours to remove.
            if (content.equals(Long.toString(ProcessHandle.current().pid()))) Files.delete(paths.pidFile());
        } catch (IOException e) {
            // already gone
        }
    }

    /**
     * SIGTERM and SIGINT stop the framework and let {@link #runAgent()} return 0: a JVM killed through its
     * default handler would exit 143, which systemd reports as a failure.
     */
    @SuppressWarnings("restriction")
    void installSignalHandlers() {
        for (String name : List.of("TERM", "INT")) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> requestStop("SIG" + name));
            } catch (IllegalArgumentException e) {
                LOG.fine(() -> "cannot handle SIG" + name + ": " + e.getMessage());
            }
        }
    }

    void requestStop(String why) {
        Framework fw = framework;
        if (fw == null) return;
        LOG.info(() -> "Septum stopping (" + why + ")");
        try {
            fw.stop();
        } catch (BundleException e) {
            LOG.log(Level.SEVERE, "cannot stop the framework: " + e.getMessage(), e);
        }
        watchStop(fw);
    }

    /**
     * A stop that hangs (a component whose deactivation waits on something that never comes) would keep the agent
     * running after SIGTERM for good: after {@code stopTimeoutMillis} the agent logs the threads of the agent and of
     * Felix, with where they are, and ends the process. Like kill -9, this leaves programs attached and maps pinned.
     */
    private void watchStop(Framework fw) {
        if (!stopWatched.compareAndSet(false, true)) return;
        Thread watch = new Thread(() -> {
            try {
                fw.waitForStop(stopTimeoutMillis);
            } catch (InterruptedException e) {
                return;
            }
            if ((fw.getState() & (Bundle.STARTING | Bundle.ACTIVE | Bundle.STOPPING)) == 0) {
                stopWatched.set(false); // stopped, or never started: a later stop is watched afresh
                return;
            }
            LOG.severe("Septum did not stop within " + stopTimeoutMillis / 1000.0 + " s; ending the process (BPF programs"
                    + " stay attached and maps stay pinned). Threads of the agent and of Felix:" + stuckThreads());
            deletePidFile();
            halt.accept(1);
        }, "septum-stop-watch");
        watch.setDaemon(true);
        watch.start();
    }

    /** Each live thread with a frame of the agent or of Felix: its name, state and top frames. */
    static String stuckThreads() {
        StringBuilder out = new StringBuilder();
        for (Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
            StackTraceElement[] stack = e.getValue();
            boolean ours = java.util.Arrays.stream(stack).anyMatch(f -> f.getClassName().startsWith("io.septum.")
                    || f.getClassName().startsWith("org.apache.felix."));
            if (!ours || e.getKey() == Thread.currentThread()) continue;
            out.append("\n  \"").append(e.getKey().getName()).append("\" ").append(e.getKey().getState());
            for (int i = 0; i < Math.min(12, stack.length); i++) out.append("\n      at ").append(stack[i]);
        }
        return out.length() == 0 ? " none" : out.toString();
    }

    /** Last resort when the JVM exits for another reason (System.exit elsewhere, SIGHUP). */
    private void stopOnExit() {
        Framework fw = framework;
        // the directories' locks stay: awaitStop may still be writing the bundle cache's index, and the process is
        // ending, which releases them
        if (fw == null || (fw.getState() & (Bundle.ACTIVE | Bundle.STARTING)) == 0) return;
        requestStop("JVM exit");
        try {
            fw.waitForStop(TimeUnit.SECONDS.toMillis(60));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        deletePidFile();
    }

    /** java.util.logging to stderr, one line per record, unless the operator points the JVM at its own config. */
    static void configureLogging(Path etcDir) {
        if (System.getProperty("java.util.logging.config.file") != null
                || System.getProperty("java.util.logging.config.class") != null) {
            return;
        }
        Path file = etcDir.resolve("logging.properties");
        try (InputStream in = Files.isRegularFile(file) ? Files.newInputStream(file)
                : new java.io.ByteArrayInputStream(DEFAULT_LOGGING.getBytes(StandardCharsets.ISO_8859_1))) {
            LogManager.getLogManager().readConfiguration(in);
        } catch (IOException e) {
            System.err.println("septum agent: cannot read " + file + " (" + e.getMessage() + "); using the JVM's logging defaults");
        }
    }

    static final String DEFAULT_LOGGING = """
            handlers=java.util.logging.ConsoleHandler
            .level=INFO
            java.util.logging.ConsoleHandler.level=ALL
            java.util.logging.ConsoleHandler.formatter=io.septum.runtime.LogFormatter
            """;

    /**
     * When this process started ({@code bin/septum} execs the JVM, so its own start counts too), in epoch
     * milliseconds: now less the process's age from {@code /proc/self/stat} (start time in clock ticks since boot,
     * 100 a second on Linux) and {@code /proc/uptime} (10 ms resolution). Not {@link ProcessHandle.Info#startInstant}
     * alone: it adds the boot time in whole seconds ({@code btime}), so it is up to a second early, and every
     * start-to-ready figure up to a second long (0.6 s on the machine this was found on). The {@code /proc} figure is
     * used only when it is plausible: not after the JVM's own start and within that second of {@code startInstant}
     * (where {@code /proc/uptime} is virtualised, as LXCFS does in containers, it is not); otherwise the JVM's own
     * start time, which comes after the exec and the JVM's initialisation (tens of milliseconds late).
     */
    static long jvmStartMillis() {
        long jvm = java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime();
        long coarse = ProcessHandle.current().info().startInstant().map(java.time.Instant::toEpochMilli).orElse(-1L);
        long fromProc = processStartFromProc();
        boolean plausible = fromProc > 0 && fromProc <= jvm + 20
                && (coarse < 0 || (fromProc >= coarse - 20 && fromProc <= coarse + 1_020));
        return plausible ? fromProc : jvm;
    }

    /** The process's start from {@code /proc} as {@link #jvmStartMillis} says, or -1 when it cannot be read. */
    static long processStartFromProc() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            // the fields after the command name (which may hold spaces and parentheses): state is field 3, starttime 22
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
            long startTicks = Long.parseLong(fields[22 - 3]);
            double uptimeSeconds = Double.parseDouble(Files.readString(Path.of("/proc/uptime")).trim().split(" ")[0]);
            return System.currentTimeMillis() - (Math.round(uptimeSeconds * 1000) - startTicks * 10);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static String messageOf(Throwable t) {
        if (t == null) return "unknown error";
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    /** The agent cannot start; the message says what and how to fix it. */
    static final class LaunchException extends Exception {
        private static final long serialVersionUID = 1L;

        LaunchException(String message) {
            super(message);
        }

        LaunchException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}

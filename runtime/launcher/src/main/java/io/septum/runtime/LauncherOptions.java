package io.septum.runtime;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Map;

/**
 * The options of {@code septum agent}. Defaults may also come from system properties (e.g. through
 * {@code SEPTUM_JAVA_OPTS=-Dseptum.state.dir=...}), so that tests and packagers can move every location
 * without editing the unit. Parsed by hand: seven options do not need a parser library, and picocli's model of
 * them cost 120-200 ms of every agent start (docs/benchmarks.md); the CLI keeps picocli.
 */
final class LauncherOptions {
    static final String DEFAULT_STATE_DIR = "/var/lib/septum";
    static final String DEFAULT_RUN_DIR = "/run/septum";
    static final String DEFAULT_BPF_DIR = "/sys/fs/bpf/septum";
    static final long DEFAULT_STOP_TIMEOUT_SECONDS = 30;
    static final long MAX_STOP_TIMEOUT_SECONDS = 3600;

    /** Install directory; null: {@code SEPTUM_HOME}, else above the launcher jar ({@link #resolveHome}). */
    Path home;
    Path stateDir = Path.of(System.getProperty("septum.state.dir", DEFAULT_STATE_DIR));
    Path runDir = Path.of(System.getProperty("septum.run.dir", DEFAULT_RUN_DIR));
    Path bpfDir = Path.of(System.getProperty("septum.bpf.dir", DEFAULT_BPF_DIR));
    /** How long a stop may take before the agent ends the process; below the systemd unit's TimeoutStopSec (60). */
    long stopTimeoutSeconds = Long.getLong("septum.stop.timeout.seconds", DEFAULT_STOP_TIMEOUT_SECONDS);
    boolean console;
    boolean help;

    /**
     * The options of {@code args}: {@code --name DIR} or {@code --name=DIR} for the directories, {@code --console},
     * {@code -h}/{@code --help}. Throws IllegalArgumentException naming the word that is wrong, and why.
     */
    static LauncherOptions parse(String... args) {
        LauncherOptions o = new LauncherOptions();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String name = a.startsWith("--") && a.contains("=") ? a.substring(0, a.indexOf('=')) : a;
            switch (name) {
                case "--console" -> o.console = flag(a);
                case "-h", "--help" -> o.help = flag(a);
                case "--home", "--state-dir", "--run-dir", "--bpf-dir" -> {
                    Path dir = dir(name, value(args, i, name, "DIR", "-"));
                    if (name.equals(a)) i++;
                    switch (name) {
                        case "--home" -> o.home = dir;
                        case "--state-dir" -> o.stateDir = dir;
                        case "--run-dir" -> o.runDir = dir;
                        default -> o.bpfDir = dir;
                    }
                }
                case "--stop-timeout" -> {
                    // "--stop-timeout -5" is a wrong number, not a missing one: only "--" starts another option here
                    o.stopTimeoutSeconds = seconds(name, value(args, i, name, "SECONDS", "--"));
                    if (name.equals(a)) i++;
                }
                default -> throw new IllegalArgumentException(a.startsWith("-") ? "Unknown option: '" + a + "'"
                        : "Unexpected argument: '" + a + "' (the agent takes options only)");
            }
        }
        return o;
    }

    /**
     * The value of option {@code name} at {@code args[i]}: after its '=', else the next word, unless that is missing
     * or starts with {@code nextOption} (the caller then skips the word it took).
     */
    private static String value(String[] args, int i, String name, String meta, String nextOption) {
        String a = args[i];
        if (!name.equals(a)) return a.substring(name.length() + 1);
        if (i + 1 < args.length && !args[i + 1].startsWith(nextOption)) return args[i + 1];
        throw new IllegalArgumentException("Missing required parameter for option '" + name + "' (" + meta + ")");
    }

    private static boolean flag(String word) {
        if (word.contains("=")) throw new IllegalArgumentException("Option '" + word.substring(0, word.indexOf('='))
                + "' takes no value: '" + word + "'");
        return true;
    }

    private static long seconds(String option, String value) {
        long s;
        try {
            s = Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            s = -1;
        }
        if (s < 1 || s > MAX_STOP_TIMEOUT_SECONDS) {
            throw new IllegalArgumentException("Option '" + option + "' needs whole seconds from 1 to "
                    + MAX_STOP_TIMEOUT_SECONDS + ", not '" + value + "'");
        }
        return s;
    }

    private static Path dir(String option, String value) {
        if (value.isBlank()) throw new IllegalArgumentException("Option '" + option + "' needs a directory, not an empty value");
        try {
            return Path.of(value);
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("Option '" + option + "': '" + value + "' is no path: " + e.getReason());
        }
    }

    /** What {@code septum agent --help} prints, with the defaults in force (system properties included). */
    static String usage() {
        LauncherOptions d = new LauncherOptions();
        return String.join("\n",
                "Usage: septum agent [-h] [--console] [--bpf-dir=DIR] [--home=DIR]",
                "                    [--run-dir=DIR] [--state-dir=DIR] [--stop-timeout=SECONDS]",
                "Runs the Septum agent (an Apache Felix container) in the foreground.",
                "      --home=DIR        Install directory (bin/, lib/, bundle/, etc/, deploy/).",
                "                          Default: $SEPTUM_HOME, else the directory above the",
                "                          launcher jar's lib/.",
                "      --state-dir=DIR   Persistent state (identities, policies, endpoints, the",
                "                          Felix cache). Default: " + d.stateDir + ".",
                "      --run-dir=DIR     Runtime files (API socket, pid file). Default:",
                "                          " + d.runDir + ".",
                "      --bpf-dir=DIR     Where BPF maps and programs are pinned (on bpffs).",
                "                          Default: " + d.bpfDir + ". Its lock against a second",
                "                          agent: a file in $SEPTUM_LOCK_DIR, else " + Launcher.DEFAULT_LOCK_DIR + ".",
                "      --stop-timeout=SECONDS",
                "                        How long a stop may take before the agent logs its",
                "                          threads and ends the process (programs stay attached).",
                "                          Keep it below the unit's TimeoutStopSec. Default: " + d.stopTimeoutSeconds + ".",
                "      --console         Run the Gogo shell on this terminal (type help; Ctrl-D",
                "                          stops the agent).",
                "  -h, --help            Show this help and exit.",
                "");
    }

    /** Every location the agent uses, absolute. */
    record Paths(Path home, Path etcDir, Path stateDir, Path runDir, Path bpfDir) {
        Path bundleDir() {
            return home.resolve("bundle");
        }

        Path deployDir() {
            return home.resolve("deploy");
        }

        Path frameworkStorage() {
            return stateDir.resolve("felix-cache");
        }

        Path pidFile() {
            return runDir.resolve("septum.pid");
        }
    }

    Paths resolve(Map<String, String> env, URL launcherLocation) {
        Path h = resolveHome(home, env, launcherLocation);
        return new Paths(h, h.resolve("etc"), stateDir.toAbsolutePath().normalize(),
                runDir.toAbsolutePath().normalize(), bpfDir.toAbsolutePath().normalize());
    }

    /**
     * {@code --home}, else {@code SEPTUM_HOME}, else the parent of the directory holding the launcher jar
     * ({@code <home>/lib/septum-launcher.jar}). A launcher run from a class directory has no install dir to guess.
     */
    static Path resolveHome(Path option, Map<String, String> env, URL launcherLocation) {
        if (option != null) return option.toAbsolutePath().normalize();
        String fromEnv = env.get("SEPTUM_HOME");
        if (fromEnv != null && !fromEnv.isBlank()) return Path.of(fromEnv).toAbsolutePath().normalize();
        if (launcherLocation != null && "file".equals(launcherLocation.getProtocol())) {
            try {
                Path jar = Path.of(launcherLocation.toURI());
                if (Files.isRegularFile(jar) && jar.getParent() != null && jar.getParent().getParent() != null) {
                    return jar.getParent().getParent().toAbsolutePath().normalize();
                }
            } catch (URISyntaxException | IllegalArgumentException e) {
                // fall through to the error below: the location is not a plain file
            }
        }
        throw new IllegalArgumentException("cannot tell where Septum is installed (launcher loaded from "
                + launcherLocation + "): pass --home DIR or set SEPTUM_HOME to the unpacked distribution");
    }
}

package io.septum.runtime;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The options of {@code septum agent}. Defaults may also come from system properties (e.g. through
 * {@code SEPTUM_JAVA_OPTS=-Dseptum.state.dir=...}), so that tests and packagers can move every location
 * without editing the unit.
 */
@Command(name = "septum agent", description = "Runs the Septum agent (an Apache Felix container) in the foreground.",
        sortOptions = false)
final class LauncherOptions {
    static final String DEFAULT_STATE_DIR = "/var/lib/septum";
    static final String DEFAULT_RUN_DIR = "/run/septum";
    static final String DEFAULT_BPF_DIR = "/sys/fs/bpf/septum";

    @Option(names = "--home", paramLabel = "DIR",
            description = "Install directory (bin/, lib/, bundle/, etc/, deploy/). Default: $SEPTUM_HOME, "
                    + "else the directory above the launcher jar's lib/.")
    Path home;

    @Option(names = "--state-dir", paramLabel = "DIR", defaultValue = "${sys:septum.state.dir:-" + DEFAULT_STATE_DIR + "}",
            description = "Persistent state (identities, policies, endpoints, the Felix cache). Default: ${DEFAULT-VALUE}.")
    Path stateDir;

    @Option(names = "--run-dir", paramLabel = "DIR", defaultValue = "${sys:septum.run.dir:-" + DEFAULT_RUN_DIR + "}",
            description = "Runtime files (API socket, pid file). Default: ${DEFAULT-VALUE}.")
    Path runDir;

    @Option(names = "--bpf-dir", paramLabel = "DIR", defaultValue = "${sys:septum.bpf.dir:-" + DEFAULT_BPF_DIR + "}",
            description = "Where BPF maps and programs are pinned (on bpffs). Default: ${DEFAULT-VALUE}.")
    Path bpfDir;

    @Option(names = "--console", description = "Run the Gogo shell on this terminal (type help; Ctrl-D stops the agent).")
    boolean console;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

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

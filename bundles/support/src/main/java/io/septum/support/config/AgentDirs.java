package io.septum.support.config;

import java.nio.file.Path;
import java.util.function.Function;

/**
 * The agent's directories as the launcher passes them to every bundle (framework properties {@value #STATE_DIR},
 * {@value #RUN_DIR}, {@value #BPF_DIR}, {@value #ETC_DIR}), with the defaults of a packaged agent when a property is
 * missing or blank (a framework started by a test, say). Components call it with {@code BundleContext::getProperty}, so that this
 * jar needs no OSGi.
 */
public final class AgentDirs {
    /** Where the agent keeps what survives a restart (policies, identities, flows). */
    public static final String STATE_DIR = "septum.state.dir";
    /** Where the agent's sockets live. */
    public static final String RUN_DIR = "septum.run.dir";
    /** Where the datapath pins its BPF maps. */
    public static final String BPF_DIR = "septum.bpf.dir";
    /** Where the operator's configuration files live ({@code services.yaml}, {@code endpoints/}). */
    public static final String ETC_DIR = "septum.etc.dir";
    /** The agent's home; its {@code etc} is the configuration directory when {@value #ETC_DIR} is not given. */
    public static final String HOME = "septum.home";

    private AgentDirs() {
    }

    public static Path stateDir(Function<String, String> properties) {
        return dir(properties, STATE_DIR, "/var/lib/septum");
    }

    public static Path runDir(Function<String, String> properties) {
        return dir(properties, RUN_DIR, "/run/septum");
    }

    public static Path bpfDir(Function<String, String> properties) {
        return dir(properties, BPF_DIR, "/sys/fs/bpf/septum");
    }

    /** {@value #ETC_DIR}, else {@code etc} in {@value #HOME}, else {@code etc} in the working directory. */
    public static Path etcDir(Function<String, String> properties) {
        String etc = properties.apply(ETC_DIR);
        if (etc != null && !etc.isBlank()) return Path.of(etc);
        return dir(properties, HOME, Path.of("").toAbsolutePath().toString()).resolve("etc");
    }

    /** The directory a framework property {@code key} names, or {@code def} when it is missing or blank. */
    public static Path dir(Function<String, String> properties, String key, String def) {
        String v = properties.apply(key);
        return Path.of(v == null || v.isBlank() ? def : v);
    }
}

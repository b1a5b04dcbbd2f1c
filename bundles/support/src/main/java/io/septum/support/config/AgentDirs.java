package io.septum.support.config;

import java.nio.file.Path;
import java.util.function.Function;

/**
 * The agent's directories as the launcher passes them to every bundle (framework properties {@value #STATE_DIR},
 * {@value #RUN_DIR}, {@value #BPF_DIR}), with the defaults of a packaged agent when a property is missing or blank
 * (a framework started by a test, say). Components call it with {@code BundleContext::getProperty}, so that this
 * jar needs no OSGi.
 */
public final class AgentDirs {
    /** Where the agent keeps what survives a restart (policies, identities, flows). */
    public static final String STATE_DIR = "septum.state.dir";
    /** Where the agent's sockets live. */
    public static final String RUN_DIR = "septum.run.dir";
    /** Where the datapath pins its BPF maps. */
    public static final String BPF_DIR = "septum.bpf.dir";

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

    private static Path dir(Function<String, String> properties, String key, String def) {
        String v = properties.apply(key);
        return Path.of(v == null || v.isBlank() ? def : v);
    }
}

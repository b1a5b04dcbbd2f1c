package io.septum.source.docker.internal;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.StandardOpenOption;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The tests' private Docker engine, driven through scripts/test-dockerd.sh and the docker CLI. */
final class TestEngine {
    static final String SOCK = "unix:///run/sept-test-docker.sock";
    static final String IMAGE = "septum-test/busybox";
    private static final Path SCRIPT = Path.of("../../scripts/test-dockerd.sh").toAbsolutePath().normalize();
    /** Held from start to stop: test runs in other JVMs (a reactor build, the e2e test) share the one engine. */
    private static final Path LOCK = Path.of("/run/sept-test-docker.lock");
    private static FileChannel lockChannel;
    private static FileLock lock;

    private TestEngine() {
    }

    /**
     * Skips (or fails, when septum.e2e.required is true) without dockerd; else starts the engine. Root is checked
     * before, by {@code @RequiresRoot} on the test class.
     */
    static void start() throws IOException {
        boolean required = Boolean.getBoolean("septum.e2e.required");
        boolean installed = Files.isExecutable(Path.of("/usr/sbin/dockerd")) || Files.isExecutable(Path.of("/usr/bin/dockerd"));
        if (!required) {
            Assumptions.assumeTrue(installed, "dockerd is not installed (scripts/install-deps.sh installs docker.io)");
        }
        lockChannel = FileChannel.open(LOCK, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        lock = lockChannel.lock();
        script("start");
    }

    static void kill() throws IOException {
        script("kill");
    }

    static void stop() throws IOException {
        try {
            script("stop");
        } finally {
            if (lockChannel != null) lockChannel.close();
            lockChannel = null;
            lock = null;
        }
    }

    /** Starts the engine again after {@link #kill()}, keeping the lock. */
    static void restart() throws IOException {
        script("start");
    }

    private static void script(String action) throws IOException {
        String out = run(120, SCRIPT.toString(), action);
        if (out == null) throw new IOException(SCRIPT + " " + action + " failed");
    }

    /** Runs the docker CLI against the test engine and returns its trimmed output; fails the test on error. */
    static String docker(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("docker", "-H", SOCK));
        cmd.addAll(List.of(args));
        String out = run(60, cmd.toArray(new String[0]));
        if (out == null) throw new IOException("docker " + String.join(" ", args) + " failed");
        return out;
    }

    /** Output of a command, or null when it exits non-zero (its output then goes to stderr for the report). */
    static String run(int timeoutSeconds, String... cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + " timed out");
            }
            if (p.exitValue() != 0) {
                System.err.println(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out);
                return null;
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }
}

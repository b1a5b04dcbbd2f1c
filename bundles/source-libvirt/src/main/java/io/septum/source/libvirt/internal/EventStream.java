package io.septum.source.libvirt.internal;

import io.septum.support.thread.DaemonThreads;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A {@code virsh event --all --loop --timestamp} child process and the thread that reads it.
 *
 * <p>Why a child process rather than libvirt-java's events: those need libvirt's process-wide default event loop,
 * which cannot be unregistered, calling back into this bundle's class loader from a native thread; a child process
 * is state this bundle owns outright: {@link #close} kills it, and when the bundle is replaced nothing of it remains.
 * Under {@code setpriv --pdeathsig KILL} (util-linux, present on every Debian) the kernel also kills it when the
 * thread that started it ends (the source's executor thread, which lives as long as the source) or the agent dies,
 * so a crashed agent leaves no {@code virsh} behind.
 *
 * <p>One instance is one run of the child: when it ends (libvirtd went away, virsh failed to connect, it was killed)
 * the listener hears {@link Listener#ended} once with the reason, and the owner decides whether and when to start a
 * new one. Listener calls come from the reader thread, in the order virsh printed the lines.
 */
final class EventStream implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(EventStream.class.getName());
    private static final Path SETPRIV = Path.of("/usr/bin/setpriv");

    interface Listener {
        void event(DomainEvent event);

        /** The child is gone; {@code reason} says how (exit status and its last error line). Not called after close. */
        void ended(String reason);
    }

    private final List<String> command;
    private final Listener listener;
    private volatile boolean closed;
    private Process process;

    EventStream(List<String> command, Listener listener) {
        this.command = List.copyOf(command);
        this.listener = listener;
    }

    /** The command that follows every domain event of {@code uri}, read-only, in the C locale. */
    static List<String> virshCommand(String virsh, String uri) {
        List<String> cmd = new ArrayList<>();
        if (Files.isExecutable(SETPRIV)) cmd.addAll(List.of(SETPRIV.toString(), "--pdeathsig", "KILL"));
        cmd.addAll(List.of(virsh, "-r", "-c", uri, "event", "--all", "--loop", "--timestamp"));
        return cmd;
    }

    /** Starts the child and its reader; an IOException means it could not be started at all (no virsh...). */
    synchronized void start() throws IOException {
        if (process != null) throw new IllegalStateException("event stream already started");
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        // virsh translates its messages; the parser reads the C locale's words.
        pb.environment().put("LC_ALL", "C");
        pb.environment().remove("LANGUAGE");
        Process p = pb.start();
        process = p;
        DaemonThreads.start("septum-source-libvirt-events", () -> read(p));
    }

    long pid() {
        Process p = process;
        return p == null ? -1 : p.pid();
    }

    private void read(Process p) {
        String lastError = null;
        int events = 0;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                var e = DomainEvent.parse(line);
                if (e.isPresent()) {
                    events++;
                    try {
                        listener.event(e.get());
                    } catch (RuntimeException ex) {
                        LOG.log(Level.WARNING, "source libvirt: handling event line \"" + line + "\" failed", ex);
                    }
                } else if (line.startsWith("error:")) {
                    lastError = line.substring(6).strip();
                } else if (!line.isBlank() && !line.startsWith("\t") && !line.startsWith("events received:")) {
                    LOG.fine("source libvirt: ignored virsh event line \"" + line + "\"");
                }
            }
        } catch (IOException e) {
            // The pipe closes when the child is killed: the exit status below tells the rest.
            if (lastError == null) lastError = e.getMessage();
        }
        String exit;
        try {
            exit = p.waitFor(5, TimeUnit.SECONDS) ? "exited with status " + p.exitValue() : "closed its output";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            exit = "interrupted";
        }
        if (closed) return;
        if (p.isAlive()) p.destroyForcibly();
        listener.ended("virsh event " + exit + " after " + events + " event(s)"
                + (lastError == null ? "" : ": " + lastError));
    }

    /** Kills the child; idempotent. */
    @Override
    public void close() {
        closed = true;
        Process p;
        synchronized (this) {
            p = process;
        }
        if (p == null) return;
        p.destroy();
        try {
            if (!p.waitFor(2, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(2, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}

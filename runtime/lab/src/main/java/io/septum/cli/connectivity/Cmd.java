package io.septum.cli.connectivity;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a short external command ({@code ip}, {@code ss}, {@code curl}...) with a hard deadline and captures its
 * output. Nothing in the lab may hang: a command that outlives its deadline is killed with its children.
 */
final class Cmd {
    private Cmd() {
    }

    /** The outcome of one command. {@code exit} is -1 when it was killed at its deadline. */
    record Result(List<String> command, int exit, String out, String err, long millis) {
        boolean ok() {
            return exit == 0;
        }

        /** Throws {@link LabException} naming the command and its stderr unless it succeeded. */
        Result check() {
            if (exit != 0) {
                throw new LabException("'" + String.join(" ", command) + "' failed (exit " + exit + "): "
                        + (err.isBlank() ? out.strip() : err.strip()));
            }
            return this;
        }
    }

    static Result run(long timeoutMillis, String... command) {
        return run(timeoutMillis, null, Arrays.asList(command));
    }

    static Result run(long timeoutMillis, String stdin, List<String> command) {
        long start = System.nanoTime();
        Process p;
        try {
            p = new ProcessBuilder(command).start();
        } catch (IOException e) {
            throw new LabException("cannot run '" + String.join(" ", command) + "': " + e.getMessage()
                    + " (is iproute2/socat/curl installed? scripts/install-deps.sh installs them)", e);
        }
        Drain out = new Drain(p.getInputStream());
        Drain err = new Drain(p.getErrorStream());
        out.start();
        err.start();
        try {
            try (var in = p.getOutputStream()) {
                if (stdin != null) in.write(stdin.getBytes(StandardCharsets.UTF_8));
            } catch (IOException ignored) {
                // the command exited without reading its input: its exit code tells the rest
            }
            int exit;
            if (p.waitFor(timeoutMillis, TimeUnit.MILLISECONDS)) {
                exit = p.exitValue();
            } else {
                kill(p);
                exit = -1;
            }
            out.join(1000);
            err.join(1000);
            return new Result(List.copyOf(command), exit, out.text(), err.text(),
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
        } catch (InterruptedException e) {
            kill(p);
            Thread.currentThread().interrupt();
            throw new LabException("interrupted while running '" + String.join(" ", command) + "'", e);
        }
    }

    /** Kills a process and every process it started (socat forks one child per connection). */
    static void kill(Process p) {
        kill(p.toHandle());
    }

    static void kill(ProcessHandle h) {
        List<ProcessHandle> all = new ArrayList<>();
        h.descendants().forEach(all::add);
        all.add(h);
        for (ProcessHandle d : all) d.destroyForcibly();
        for (ProcessHandle d : all) {
            try {
                d.onExit().get(2, TimeUnit.SECONDS);
            } catch (Exception ignored) {
                // best effort: a zombie reaped later does no harm
            }
        }
    }

    /** Reads a stream to its end on its own thread, so that a chatty command never blocks on a full pipe. */
    static final class Drain extends Thread {
        private final InputStream in;
        private final ByteArrayOutputStream buf = new ByteArrayOutputStream();

        Drain(InputStream in) {
            super("septum-lab-drain");
            setDaemon(true);
            this.in = in;
        }

        @Override
        public void run() {
            byte[] b = new byte[4096];
            try {
                int n;
                while ((n = in.read(b)) >= 0) {
                    synchronized (buf) {
                        if (buf.size() < 1 << 20) buf.write(b, 0, n);
                    }
                }
            } catch (IOException ignored) {
                // the process went away: what was read is what there is
            }
        }

        String text() {
            synchronized (buf) {
                return buf.toString(StandardCharsets.UTF_8);
            }
        }
    }
}

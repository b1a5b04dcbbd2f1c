package io.septum.source.netns.internal;

import io.septum.support.thread.DaemonThreads;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs a command with a timeout and returns its output; a failure names the command, its exit code and stderr. */
class CommandRunner {
    private final Duration timeout;

    CommandRunner(Duration timeout) {
        this.timeout = timeout;
    }

    String run(List<String> argv) throws IOException {
        Process p = new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        // Both pipes drain concurrently so that a chatty stderr cannot block the child.
        CompletableFuture<String> out = drainAsync(p.getInputStream(), argv.get(0));
        CompletableFuture<String> err = drainAsync(p.getErrorStream(), argv.get(0));
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IOException("`" + String.join(" ", argv) + "` did not finish within " + timeout.toSeconds()
                        + " s and was killed");
            }
            String stdout = out.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            String stderr = err.get(timeout.toMillis(), TimeUnit.MILLISECONDS).trim();
            if (p.exitValue() != 0) {
                throw new CommandException(argv, p.exitValue(), stderr);
            }
            return stdout;
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running `" + String.join(" ", argv) + "`", e);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            p.destroyForcibly();
            throw new IOException("cannot read the output of `" + String.join(" ", argv) + "`: " + e, e);
        }
    }

    private static CompletableFuture<String> drainAsync(InputStream in, String what) {
        CompletableFuture<String> f = new CompletableFuture<>();
        DaemonThreads.start("septum-netns-" + what, () -> {
            try {
                f.complete(drain(in));
            } catch (RuntimeException e) {
                f.completeExceptionally(e);
            }
        });
        return f;
    }

    private static String drain(InputStream in) {
        try (in) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            in.transferTo(buf);
            return buf.toString(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A command that ran and failed. */
    static final class CommandException extends IOException {
        private static final long serialVersionUID = 1L;
        final int exitCode;
        final String stderr;

        CommandException(List<String> argv, int exitCode, String stderr) {
            super("`" + String.join(" ", argv) + "` failed with exit code " + exitCode
                    + (stderr.isEmpty() ? "" : ": " + stderr));
            this.exitCode = exitCode;
            this.stderr = stderr;
        }
    }
}

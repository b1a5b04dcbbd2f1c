package io.septum.cli.connectivity;

/**
 * Whether a lab is still open, and its JVM shutdown hook: the hook removes the lab when the process exits without
 * closing it (Ctrl-C), and is dropped once the lab is closed, kept ({@code --keep}), or handed to a caller whose own
 * hook closes it. Shared by {@link NetLab} and {@link DockerLab}.
 */
final class LabLifecycle {
    private final String runId;
    private final Thread hook;
    private volatile boolean closed;

    /**
     * {@code cleanup} removes everything the lab made; the hook runs it (the lab is closed from then on), and so
     * does {@link #close}.
     */
    LabLifecycle(String runId, String hookName, Runnable cleanup) {
        this.runId = runId;
        this.hook = new Thread(() -> {
            closed = true;
            cleanup.run();
        }, hookName);
    }

    void installHook() {
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** The caller's shutdown hook closes the lab, not the lab's own. */
    void handOverHook() {
        removeHook();
    }

    /** Leaves the lab in place when this process exits: no cleanup at shutdown, and no more changes. */
    void keep() {
        closed = true;
        removeHook();
    }

    /** Runs {@code cleanup} unless the lab was closed or kept already, then drops the hook. */
    void close(Runnable cleanup) {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        cleanup.run();
        removeHook();
    }

    /** Throws once the lab is closed: nothing may be added to a lab that is being removed. */
    void ensureOpen() {
        if (closed) throw new LabException("lab " + runId + " is closed (the command is shutting down)");
    }

    private void removeHook() {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException ignored) {
            // the JVM is shutting down: the hook is what called us, or will find nothing left
        }
    }
}

package io.septum.cli.connectivity;

/**
 * The shutdown hook of a command that owns a lab and what it registered with the agent ({@code connectivity test},
 * {@code demo}): when the process exits early (Ctrl-C), the command's cleanup runs, the agent's side before the lab
 * goes, so the lab hands its own hook over to this one. With {@code --keep} no hook is installed: everything stays.
 */
public final class ShutdownCleanup {
    private final Thread hook;

    private ShutdownCleanup(Thread hook) {
        this.hook = hook;
    }

    /**
     * Unless {@code keep}: runs {@code handOver} (the lab drops its own hook) and installs {@code cleanup} as a
     * shutdown hook called {@code name}.
     */
    public static ShutdownCleanup install(String name, Runnable cleanup, boolean keep, Runnable handOver) {
        Thread hook = new Thread(cleanup, name);
        if (!keep) {
            handOver.run();
            Runtime.getRuntime().addShutdownHook(hook);
        }
        return new ShutdownCleanup(hook);
    }

    /** Drops the hook once the command has cleaned up itself. */
    public void remove() {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException ignored) {
            // shutting down: the hook is running, or has run and finds nothing left
        }
    }
}

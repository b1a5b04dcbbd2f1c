package io.septum.cli.connectivity;

/**
 * A lab's JVM shutdown hook: it removes the lab when the process exits without closing it (Ctrl-C), and is dropped
 * once the lab is closed, kept ({@code --keep}), or handed to a caller whose own hook closes it.
 */
final class CleanupHook {
    private final Thread thread;

    CleanupHook(String name, Runnable cleanup) {
        this.thread = new Thread(cleanup, name);
    }

    void install() {
        Runtime.getRuntime().addShutdownHook(thread);
    }

    void remove() {
        try {
            Runtime.getRuntime().removeShutdownHook(thread);
        } catch (IllegalStateException ignored) {
            // the JVM is shutting down: the hook is what called us, or will find nothing left
        }
    }
}

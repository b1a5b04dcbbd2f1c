package io.septum.cli.connectivity;

/** The lab could not build or probe its topology: a kernel object, a tool or a listener failed. */
public class LabException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public LabException(String message) {
        super(message);
    }

    public LabException(String message, Throwable cause) {
        super(message, cause);
    }

    /**
     * Sleeps {@code millis} between the polls of a wait; an interrupt (the command is being stopped) ends the wait
     * with a LabException that says {@code message}, the thread's interrupt status kept.
     */
    public static void pause(long millis, String message) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LabException(message, e);
        }
    }
}

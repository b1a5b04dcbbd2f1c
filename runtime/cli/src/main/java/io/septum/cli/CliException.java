package io.septum.cli;

/** A command failed for a reason the user can fix: the message goes to stderr, the code is the exit status. */
public class CliException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    /** Exit status for input the user must correct (invalid policy, bad flag value, unreadable file). */
    public static final int INVALID_INPUT = 2;
    private final int exitCode;

    public CliException(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    public int exitCode() {
        return exitCode;
    }
}

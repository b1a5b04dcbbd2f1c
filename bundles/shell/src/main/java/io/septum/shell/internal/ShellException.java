package io.septum.shell.internal;

/**
 * A command failed for a reason the operator can fix. The console prints a thrown exception's {@code toString()},
 * so this one is only its message: what was wrong and how to fix it, without a Java class name in front.
 */
final class ShellException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ShellException(String message) {
        super(message);
    }

    @Override
    public String toString() {
        return getMessage();
    }
}

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
}

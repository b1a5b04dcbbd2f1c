package io.septum.api.datapath;

/** The kernel refused a change; the datapath kept its last good state. */
public class DatapathException extends Exception {
    private static final long serialVersionUID = 1L;

    public DatapathException(String message) {
        super(message);
    }

    public DatapathException(String message, Throwable cause) {
        super(message, cause);
    }
}

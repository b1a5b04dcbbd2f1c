package io.septum.webui.internal;

/** A request the UI cannot answer, with the HTTP status to answer it with and a message for the user. */
final class UiException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int status;

    UiException(int status, String message) {
        super(message);
        this.status = status;
    }

    int status() {
        return status;
    }

    static UiException unavailable(String what) {
        return new UiException(503, what + " is not running in the agent (see 'septum status' and the agent's log)");
    }
}

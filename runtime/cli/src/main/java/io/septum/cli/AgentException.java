package io.septum.cli;

import io.septum.api.policy.ValidationError;
import java.util.List;

/**
 * The agent refused a request, or could not be reached.
 *
 * <p>{@link #status()} is the HTTP status of the refusal, or {@link #UNREACHABLE} when no agent answered on the
 * socket. {@link #errors()} holds the validation errors of a refused policy import (empty otherwise).
 */
public class AgentException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    /** Status when the socket could not be reached at all. */
    public static final int UNREACHABLE = 0;

    private final int status;
    private final transient List<ValidationError> errors;

    public AgentException(int status, String message, List<ValidationError> errors) {
        super(message);
        this.status = status;
        this.errors = errors == null ? List.of() : List.copyOf(errors);
    }

    public AgentException(int status, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
        this.errors = List.of();
    }

    public int status() {
        return status;
    }

    public List<ValidationError> errors() {
        return errors;
    }

    public boolean unreachable() {
        return status == UNREACHABLE;
    }
}

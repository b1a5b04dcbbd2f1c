package io.septum.apiserver.internal;

import io.septum.api.policy.ValidationError;
import java.util.List;

/** A request that ends in a non-2xx answer: its status, the {@code error} message and validation errors if any. */
public final class HttpException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int status;
    private final transient List<ValidationError> errors;

    public HttpException(int status, String message) {
        this(status, message, List.of());
    }

    public HttpException(int status, String message, List<ValidationError> errors) {
        super(message);
        this.status = status;
        this.errors = errors == null ? List.of() : List.copyOf(errors);
    }

    public int status() {
        return status;
    }

    public List<ValidationError> errors() {
        return errors;
    }
}

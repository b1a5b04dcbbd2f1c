package io.septum.api.policy;

import java.util.List;
import java.util.stream.Collectors;

/** Input was refused; nothing of it was applied. */
public class PolicyValidationException extends Exception {
    private static final long serialVersionUID = 1L;
    private final List<ValidationError> errors;

    public PolicyValidationException(List<ValidationError> errors) {
        super(errors.stream().map(ValidationError::message).collect(Collectors.joining("\n")));
        this.errors = List.copyOf(errors);
    }

    public List<ValidationError> errors() {
        return errors;
    }
}

package io.septum.api.service;

/** A service was refused; nothing changed. The message names the service, the field and the reason. */
public class ServiceValidationException extends Exception {
    private static final long serialVersionUID = 1L;

    public ServiceValidationException(String message) {
        super(message);
    }
}

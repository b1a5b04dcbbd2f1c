package io.septum.api;

import com.fasterxml.jackson.annotation.JsonValue;

/** An endpoint's life, as in Cilium. */
public enum EndpointState {
    WAITING_FOR_IDENTITY("waiting-for-identity"),
    REGENERATING("regenerating"),
    READY("ready"),
    DISCONNECTED("disconnected");

    private final String text;

    EndpointState(String text) {
        this.text = text;
    }

    @JsonValue
    @Override
    public String toString() {
        return text;
    }

    public static EndpointState parse(String s) {
        for (EndpointState e : values()) if (e.text.equals(s) || e.name().equalsIgnoreCase(s)) return e;
        throw new IllegalArgumentException("unknown endpoint state: " + s);
    }
}

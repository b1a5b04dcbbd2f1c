package io.septum.api.policy;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/**
 * Cilium's policy enforcement modes. {@code default}: an endpoint is open in a direction until a rule selects
 * it for that direction. {@code always}: every endpoint is closed unless allowed. {@code never}: no enforcement.
 */
public enum EnforcementMode {
    DEFAULT, ALWAYS, NEVER;

    @JsonValue
    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static EnforcementMode parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("unknown enforcement mode \"" + s + "\" (expected default, always or never)");
        }
    }
}

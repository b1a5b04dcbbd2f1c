package io.septum.api;

/** One component's health line in {@code septum status}: {@code ok}, {@code degraded} or {@code failed}. */
public record ComponentStatus(String name, String state, String message) {
    public static ComponentStatus ok(String name, String message) {
        return new ComponentStatus(name, "ok", message);
    }

    public static ComponentStatus failed(String name, String message) {
        return new ComponentStatus(name, "failed", message);
    }
}

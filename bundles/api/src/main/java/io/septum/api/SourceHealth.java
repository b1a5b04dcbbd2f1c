package io.septum.api;

/**
 * An endpoint source's health, shown by {@code septum status}.
 *
 * @param source    the source name
 * @param connected whether it reaches its backend
 * @param lastSync  epoch millis of its last full sync, 0 if none
 * @param error     the last error, or null
 */
public record SourceHealth(String source, boolean connected, long lastSync, String error) {
}

package io.septum.api.policy;

/**
 * One probe's outcome, as {@code policy eval} and {@code connectivity test} print it.
 *
 * @param verdict {@code allow} or {@code deny}
 * @param rule    the deciding rule, or why nothing decided
 * @param note    e.g. "L7 PUT /x: HTTP 403 Access denied" or "timeout after 1000 ms"
 */
public record ProbeResult(String from, String to, int port, String protocol, String expect, String verdict,
                          String rule, boolean pass, String note) {
}

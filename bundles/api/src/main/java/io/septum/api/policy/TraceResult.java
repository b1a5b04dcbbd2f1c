package io.septum.api.policy;

import java.util.List;

/**
 * What {@code policy trace} prints: the egress decision at the source, the ingress decision at the destination,
 * the final verdict, and a human-readable explanation.
 */
public record TraceResult(List<String> source, List<String> destination, int port, String protocol,
                          Decision egress, Decision ingress, boolean allowed, List<String> explanation) {
}

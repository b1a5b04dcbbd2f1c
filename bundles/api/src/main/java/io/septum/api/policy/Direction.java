package io.septum.api.policy;

/** Traffic direction from the point of view of the selected endpoint. */
public enum Direction {
    INGRESS, EGRESS
}

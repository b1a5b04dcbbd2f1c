package io.septum.api;

import java.util.List;

/** A security identity: a number standing for a label set. */
public record Identity(long id, List<String> labels, boolean reserved) {
    public Identity {
        labels = List.copyOf(labels);
    }

    public Labels labelSet() {
        return Labels.parse(labels, Label.ANY);
    }
}

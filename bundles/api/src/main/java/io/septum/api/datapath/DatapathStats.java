package io.septum.api.datapath;

/** Counters the datapath keeps: events emitted and lost, and what is attached. */
public record DatapathStats(boolean loaded, int attachedInterfaces, long eventsReceived, long eventsLost,
                            String pinPath, String error) {
}

package io.septum.api.flow;

/**
 * The observer's figures, as {@code septum status} prints them.
 *
 * @param currentFlows   flows in the in-memory ring
 * @param maxFlows       the ring's capacity
 * @param flowsPerSecond flows observed per second, over the last minute
 * @param seenFlows      flows observed since the agent started
 * @param lostEvents     events the datapath could not deliver (its ring buffer was full)
 * @param queueDropped   events the observer dropped because enrichment fell behind
 * @param diskBytes      bytes in the on-disk flow log, 0 when it is off
 * @param diskMaxBytes   the log's retention limit, 0 when it is off
 * @param diskError      the last error writing the log, or null
 */
public record FlowStats(int currentFlows, int maxFlows, double flowsPerSecond, long seenFlows, long lostEvents,
                        long queueDropped, long diskBytes, long diskMaxBytes, String diskError) {
}

package io.septum.api.datapath;

/**
 * One event from the datapath's ring buffer.
 *
 * @param timestampNanos  wall-clock time in nanoseconds since the epoch
 * @param type            {@code policy-verdict} (first packet of a connection allowed or audited) or {@code drop}
 * @param endpointId      the endpoint whose interface saw it
 * @param direction       INGRESS or EGRESS from that endpoint's view
 * @param verdict         FORWARDED, DROPPED, AUDIT or REDIRECTED
 * @param dropReason      code of the drop reason, 0 when forwarded
 * @param ruleId          rule that decided, 0 when none (default deny)
 * @param tcpFlags        TCP flags as a bit set (FIN=1, SYN=2, RST=4, PSH=8, ACK=16)
 * @param reply           whether the packet is a reply of a tracked connection
 */
public record DatapathEvent(long timestampNanos, String type, long endpointId, String direction, String verdict,
                            int dropReason, String srcIp, int srcPort, long srcIdentity, String dstIp, int dstPort,
                            long dstIdentity, String protocol, int ruleId, int tcpFlags, boolean reply, int ifindex) {
    public String dropReasonText() {
        return DropReason.byCode(dropReason).description();
    }
}

package io.septum.api.datapath;

/**
 * One entry of the policy map for an endpoint, as {@code bpf policy get} prints it.
 *
 * @param ports     {@code *}, a port, or a port prefix range such as {@code 8000-8063}
 * @param packets   packets that this entry decided
 */
public record BpfPolicyEntry(String direction, long identity, String protocol, String ports, String action,
                             int ruleId, long packets) {
}

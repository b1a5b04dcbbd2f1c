package io.septum.api.flow;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * The L4 header: protocol ({@code TCP}, {@code UDP}, {@code SCTP}, {@code ICMPv4}, ...), ports (0 when the
 * protocol has none) and, for TCP, the flags that were set ({@code SYN}, {@code ACK}, ...).
 */
public record FlowL4(
        @JsonProperty("protocol") String protocol,
        @JsonProperty("source_port") int sourcePort,
        @JsonProperty("destination_port") int destinationPort,
        @JsonProperty("flags") List<String> flags) {
    private static final String[] FLAG_NAMES = {"FIN", "SYN", "RST", "PSH", "ACK", "URG"};

    public FlowL4 {
        flags = flags == null ? List.of() : List.copyOf(flags);
    }

    /** The flag names of a TCP flag bit set (FIN=1, SYN=2, RST=4, PSH=8, ACK=16, URG=32), in that order. */
    public static List<String> tcpFlags(int bits) {
        List<String> out = new java.util.ArrayList<>();
        for (int i = 0; i < FLAG_NAMES.length; i++) if ((bits & (1 << i)) != 0) out.add(FLAG_NAMES[i]);
        return out;
    }
}

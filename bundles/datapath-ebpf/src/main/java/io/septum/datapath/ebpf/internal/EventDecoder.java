package io.septum.datapath.ebpf.internal;

import io.septum.api.datapath.DatapathEvent;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Instant;
import jnr.ffi.Runtime;

/**
 * Decodes {@code struct septum_event} records (see {@code bpf/src/septum_event.h}) into {@link DatapathEvent}s.
 * Offsets come from the {@link Structs.Event} mirror, which the layout test checks against BTF.
 */
public final class EventDecoder {
    public static final int TYPE_POLICY_VERDICT = 1;
    public static final int TYPE_DROP = 2;

    private final int size;
    private final int oTimestamp, oType, oDirection, oVerdict, oProto, oTcpFlags, oReply, oDropReason, oSport,
            oDport, oEpId, oSrcIdentity, oDstIdentity, oRuleId, oIfindex, oSaddr, oDaddr;
    private volatile long monoToWallNanos;

    public EventDecoder(Runtime runtime) {
        Structs.Event e = new Structs.Event(runtime);
        size = e.size();
        oTimestamp = (int) e.timestamp.offset();
        oType = (int) e.type.offset();
        oDirection = (int) e.direction.offset();
        oVerdict = (int) e.verdict.offset();
        oProto = (int) e.proto.offset();
        oTcpFlags = (int) e.tcp_flags.offset();
        oReply = (int) e.reply.offset();
        oDropReason = (int) e.drop_reason.offset();
        oSport = (int) e.sport.offset();
        oDport = (int) e.dport.offset();
        oEpId = (int) e.ep_id.offset();
        oSrcIdentity = (int) e.src_identity.offset();
        oDstIdentity = (int) e.dst_identity.offset();
        oRuleId = (int) e.rule_id.offset();
        oIfindex = (int) e.ifindex.offset();
        oSaddr = (int) e.saddr[0].offset();
        oDaddr = (int) e.daddr[0].offset();
        calibrate();
    }

    public int size() {
        return size;
    }

    /**
     * bpf_ktime_get_ns() and System.nanoTime() both read CLOCK_MONOTONIC on Linux, so one offset turns event
     * times into wall-clock times. Recalibrated now and then to follow wall-clock adjustments.
     */
    public void calibrate() {
        Instant now = Instant.now();
        long mono = System.nanoTime();
        monoToWallNanos = now.getEpochSecond() * 1_000_000_000L + now.getNano() - mono;
    }

    /**
     * One record; bytes past {@link #size()} (a newer program's longer struct) are ignored.
     *
     * @throws IllegalArgumentException when the record is shorter than {@code struct septum_event}
     */
    public DatapathEvent decode(byte[] raw) {
        if (raw.length < size) {
            throw new IllegalArgumentException("an event record of " + raw.length + " bytes, shorter than struct septum_event ("
                    + size + " bytes)");
        }
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        int type = b.get(oType) & 0xff;
        int dir = b.get(oDirection) & 0xff;
        int verdict = b.get(oVerdict) & 0xff;
        int proto = b.get(oProto) & 0xff;
        byte[] saddr = new byte[16];
        byte[] daddr = new byte[16];
        b.get(oSaddr, saddr);
        b.get(oDaddr, daddr);
        return new DatapathEvent(
                b.getLong(oTimestamp) + monoToWallNanos,
                type == TYPE_DROP ? "drop" : type == TYPE_POLICY_VERDICT ? "policy-verdict" : "unknown-" + type,
                b.getInt(oEpId) & 0xffffffffL,
                dir == PolicyCodec.DIR_INGRESS ? "INGRESS" : dir == PolicyCodec.DIR_EGRESS ? "EGRESS" : "UNKNOWN",
                verdictName(verdict),
                b.getShort(oDropReason) & 0xffff,
                Ips.format(saddr),
                b.getShort(oSport) & 0xffff,
                b.getInt(oSrcIdentity) & 0xffffffffL,
                Ips.format(daddr),
                b.getShort(oDport) & 0xffff,
                b.getInt(oDstIdentity) & 0xffffffffL,
                protocolName(proto),
                b.getInt(oRuleId),
                b.get(oTcpFlags) & 0xff,
                b.get(oReply) != 0,
                b.getInt(oIfindex));
    }

    static String verdictName(int v) {
        return switch (v) {
            case 1 -> "FORWARDED";
            case 2 -> "DROPPED";
            case 3 -> "AUDIT";
            case 4 -> "REDIRECTED";
            default -> "UNKNOWN";
        };
    }

    public static String protocolName(int proto) {
        return switch (proto) {
            case 0 -> "ANY";
            case 1 -> "ICMP";
            case 6 -> "TCP";
            case 17 -> "UDP";
            case 58 -> "ICMPv6";
            case 132 -> "SCTP";
            default -> Integer.toString(proto);
        };
    }
}

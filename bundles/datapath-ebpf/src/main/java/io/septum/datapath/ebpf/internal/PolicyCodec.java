package io.septum.datapath.ebpf.internal;

import io.septum.api.policy.Direction;
import io.septum.api.policy.PolicyAction;
import io.septum.api.policy.PolicyEntry;
import io.septum.api.policy.Protocol;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns an endpoint's {@link PolicyEntry} list into the entries of the {@code septum_policy} LPM trie.
 *
 * <p>The trie key's prefix runs ep_id (32 bits), identity (32), dir (8), proto (8), dport (16): prefixlen 72 is
 * "any protocol and port", 80 "this protocol, any port", 80+n a port prefix of n bits. Port ranges are split into
 * aligned prefixes. Because LPM returns only the longest match, an allow entry covered by a broader deny of the
 * same identity and direction would hide that deny; such allows are written as the deny instead.
 */
public final class PolicyCodec {
    public static final int DIR_INGRESS = 1;
    public static final int DIR_EGRESS = 2;
    public static final int ACTION_ALLOW = 1;
    public static final int ACTION_DENY = 2;
    public static final int ACTION_REDIRECT = 3;
    public static final int PREFIX_ANY_PROTO = 72;
    public static final int PREFIX_PROTO = 80;
    public static final int PREFIX_FULL = 96;

    /** ANY with a port means TCP, UDP and SCTP (Cilium's meaning). */
    private static final int[] ANY_L4 = {6, 17, 132};

    private PolicyCodec() {
    }

    /** A policy trie key; {@code port} holds only the first {@code prefixlen - 80} significant bits. */
    public record Key(long epId, long identity, int dir, int proto, int port, int prefixlen) {
        /** The 24 bits after dir: proto then port. */
        int tail() {
            return (proto << 16) | port;
        }

        /** Whether every packet this key matches is also matched by {@code this}. */
        boolean covers(Key other) {
            if (epId != other.epId || identity != other.identity || dir != other.dir) return false;
            if (prefixlen > other.prefixlen) return false;
            int bits = prefixlen - PREFIX_ANY_PROTO;
            if (bits == 0) return true;
            int mask = (int) ((0xffffffL << (24 - bits)) & 0xffffffL);
            return (tail() & mask) == (other.tail() & mask);
        }

        /** First and last port of this key, {@code [0, 65535]} for whole-protocol keys. */
        int[] portRange() {
            if (prefixlen <= PREFIX_PROTO) return new int[] {0, 65535};
            int bits = prefixlen - PREFIX_PROTO;
            int span = 1 << (16 - bits);
            return new int[] {port, port + span - 1};
        }
    }

    /** {@code flags}: {@link #FLAG_AUDIT} for entries of audit-mode policies. */
    public record Value(int action, int proxyPort, int ruleId, int flags) {
        public Value(int action, int proxyPort, int ruleId) {
            this(action, proxyPort, ruleId, 0);
        }

        boolean audit() {
            return (flags & FLAG_AUDIT) != 0;
        }

        boolean enforcedDeny() {
            return action == ACTION_DENY && !audit();
        }
    }

    /** policy_value.flags: POLICY_F_AUDIT in bpf/src/lib/maps.h. */
    public static final int FLAG_AUDIT = 1;

    public static int dir(Direction d) {
        return d == Direction.INGRESS ? DIR_INGRESS : DIR_EGRESS;
    }

    public static int action(PolicyAction a) {
        return switch (a) {
            case ALLOW -> ACTION_ALLOW;
            case DENY -> ACTION_DENY;
            case REDIRECT -> ACTION_REDIRECT;
        };
    }

    /** Splits {@code [lo, hi]} into aligned prefixes: pairs of (first port, prefix bits out of 16). */
    public static List<int[]> portPrefixes(int lo, int hi) {
        if (lo < 0 || hi > 65535 || lo > hi) throw new IllegalArgumentException("bad port range " + lo + "-" + hi);
        List<int[]> out = new ArrayList<>();
        long p = lo;
        while (p <= hi) {
            int size = 0; // log2 of the block
            while (size < 16 && (p & ((1L << (size + 1)) - 1)) == 0 && p + (1L << (size + 1)) - 1 <= hi) size++;
            out.add(new int[] {(int) p, 16 - size});
            p += 1L << size;
        }
        return out;
    }

    /** The trie entries for one endpoint, deny-wins applied. Deterministic for equal input. */
    public static Map<Key, Value> compile(long epId, List<PolicyEntry> entries) {
        Map<Key, Value> raw = new LinkedHashMap<>();
        for (PolicyEntry e : entries) {
            int dir = dir(e.direction());
            Value v = new Value(action(e.action()), 0, e.ruleId(), e.audit() ? FLAG_AUDIT : 0);
            for (Key k : keys(epId, e, dir)) {
                raw.merge(k, v, PolicyCodec::stronger);
            }
        }
        List<Map.Entry<Key, Value>> denies = raw.entrySet().stream()
                .filter(en -> en.getValue().action() == ACTION_DENY)
                .sorted(Comparator.comparingInt((Map.Entry<Key, Value> en) -> -en.getKey().prefixlen()))
                .toList();
        Map<Key, Value> out = new LinkedHashMap<>();
        for (Map.Entry<Key, Value> en : raw.entrySet()) {
            Value v = en.getValue();
            // An enforced deny must not be hidden by a longer entry, not even by an audit deny; an audit deny
            // covers allows the same way (it would win over them if it were enforced).
            Value cover = null;
            if (!v.enforcedDeny()) cover = longestCovering(denies, en.getKey(), true);
            if (cover == null && v.action() != ACTION_DENY) cover = longestCovering(denies, en.getKey(), false);
            out.put(en.getKey(), cover == null ? v : cover);
        }
        return out;
    }

    private static Value longestCovering(List<Map.Entry<Key, Value>> denies, Key key, boolean enforced) {
        for (Map.Entry<Key, Value> d : denies) { // sorted longest first
            if (d.getValue().enforcedDeny() == enforced && d.getKey().covers(key)) return d.getValue();
        }
        return null;
    }

    /**
     * Enforced deny beats audit deny beats redirect beats allow beats the audit default; among equals the lower rule
     * id, so the result does not depend on order.
     */
    static Value stronger(Value a, Value b) {
        int ra = rank(a), rb = rank(b);
        if (ra != rb) return ra > rb ? a : b;
        return a.ruleId() <= b.ruleId() ? a : b;
    }

    private static int rank(Value v) {
        int action = v.action();
        if (action == ACTION_DENY) return v.audit() ? 3 : 4;
        if (action == ACTION_REDIRECT) return 2;
        return v.audit() ? 0 : 1;
    }

    static List<Key> keys(long epId, PolicyEntry e, int dir) {
        long id = e.identity();
        List<Key> keys = new ArrayList<>();
        if (e.protocol() == Protocol.ANY && e.port() == 0) {
            keys.add(new Key(epId, id, dir, 0, 0, PREFIX_ANY_PROTO));
            return keys;
        }
        int[] protos = e.protocol() == Protocol.ANY ? ANY_L4 : new int[] {e.protocol().number()};
        for (int proto : protos) {
            if (proto == Protocol.ICMP.number() || proto == Protocol.ICMPV6.number()) {
                // the port is the ICMP type (parse.h puts the packet's type there), exact: type 0 is echo reply
                keys.add(new Key(epId, id, dir, proto, e.port(), PREFIX_PROTO + 16));
            } else if (e.port() == 0) {
                keys.add(new Key(epId, id, dir, proto, 0, PREFIX_PROTO));
            } else {
                int hi = e.endPort() == 0 ? e.port() : e.endPort();
                for (int[] pp : portPrefixes(e.port(), hi)) {
                    keys.add(new Key(epId, id, dir, proto, pp[0], PREFIX_PROTO + pp[1]));
                }
            }
        }
        return keys;
    }
}

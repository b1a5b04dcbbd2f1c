package io.septum.datapath.ebpf.internal;

import java.util.LinkedHashMap;
import java.util.Map;
import jnr.ffi.Runtime;
import jnr.ffi.Struct;

/**
 * jnr-ffi mirrors of the C structs in {@code bpf/src/lib/maps.h}, {@code bpf/src/septum_event.h} and libbpf's
 * tc structs. Field order, sizes and alignment must match C exactly; {@code StructLayoutTest} checks the
 * datapath's structs against the compiled object's BTF. Fields named like the C fields, so that the test can
 * pair them by name. Big-endian C fields are stored byte-swapped by the codec, not here.
 */
public final class Structs {
    private Structs() {
    }

    /** Backs {@code s} with fresh zeroed heap memory. */
    public static <T extends Mirror> T zeroed(T s) {
        s.useMemory(s.getRuntime().getMemoryManager().allocate(s.size()));
        return s;
    }

    /** Backs {@code s} with fresh zeroed direct memory: for a struct that a native call takes by pointer. */
    public static <T extends Mirror> T direct(T s) {
        s.useMemory(s.getRuntime().getMemoryManager().allocateDirect(s.size(), true));
        return s;
    }

    /** Backs {@code s} with a copy of {@code bytes}. */
    public static <T extends Mirror> T from(T s, byte[] bytes) {
        jnr.ffi.Pointer p = s.getRuntime().getMemoryManager().allocate(s.size());
        p.put(0, bytes, 0, Math.min(bytes.length, s.size()));
        s.useMemory(p);
        return s;
    }

    /** Base with helpers to move a struct to and from the byte arrays that the map calls take. */
    public abstract static class Mirror extends Struct {
        private final java.lang.String cName;

        /** {@code cName}: the C struct's name in BTF. */
        protected Mirror(Runtime runtime, java.lang.String cName) {
            super(runtime);
            this.cName = cName;
        }

        /** The C struct name in BTF. */
        public final java.lang.String cName() {
            return cName;
        }

        /** Field name → byte offset, in declaration order, for the layout check. */
        public abstract Map<java.lang.String, Long> members();

        public int size() {
            return Struct.size(this);
        }


        public byte[] bytes() {
            byte[] b = new byte[size()];
            Struct.getMemory(this).get(0, b, 0, b.length);
            return b;
        }

        protected static Map<java.lang.String, Long> map(Object... nameMember) {
            Map<java.lang.String, Long> m = new LinkedHashMap<>();
            for (int i = 0; i < nameMember.length; i += 2) {
                m.put((java.lang.String) nameMember[i], (Long) nameMember[i + 1]);
            }
            return m;
        }
    }

    public static final class IpcacheKey extends Mirror {
        public final Unsigned32 prefixlen = new Unsigned32();
        public final Unsigned8[] addr = array(new Unsigned8[16]);

        public IpcacheKey(Runtime r) {
            super(r, "ipcache_key");
        }

        @Override public Map<java.lang.String, Long> members() {
            return map("prefixlen", prefixlen.offset(), "addr", addr[0].offset());
        }
    }

    public static final class IpcacheValue extends Mirror {
        public final Unsigned32 identity = new Unsigned32();
        public final Unsigned32 flags = new Unsigned32();

        public IpcacheValue(Runtime r) {
            super(r, "ipcache_value");
        }

        @Override public Map<java.lang.String, Long> members() {
            return map("identity", identity.offset(), "flags", flags.offset());
        }
    }

    /** bpf/src/lib/proxy.h: the proxies' ports (key 0 of septum_proxy). */
    public static final class ProxyConfig extends Mirror {
        public final Unsigned16 port = new Unsigned16();
        public final Unsigned16 dns_port = new Unsigned16();
        public final Unsigned32 pad2 = new Unsigned32();

        public ProxyConfig(Runtime r) {
            super(r, "proxy_config");
        }

        @Override public Map<java.lang.String, Long> members() {
            return map("port", port.offset(), "dns_port", dns_port.offset(), "pad2", pad2.offset());
        }
    }

    /** bpf/src/lib/maps.h: a failsafe port of the host firewall (key of septum_failsafe; port in host order). */
    public static final class FailsafeKey extends Mirror {
        public final Unsigned8 dir = new Unsigned8();
        public final Unsigned8 proto = new Unsigned8();
        public final Unsigned16 port = new Unsigned16();

        public FailsafeKey(Runtime r) {
            super(r, "failsafe_key");
        }

        @Override public Map<java.lang.String, Long> members() {
            return map("dir", dir.offset(), "proto", proto.offset(), "port", port.offset());
        }
    }

    /** bpf/src/lib/maps.h: the MAC that takes a frame to the host from an endpoint's interface, and its bridge (value of septum_ifmac). */
    public static final class IfMac extends Mirror {
        public final Unsigned8[] mac = array(new Unsigned8[6]);
        public final Unsigned16 pad = new Unsigned16();
        public final Unsigned32 master = new Unsigned32();

        public IfMac(Runtime r) {
            super(r, "if_mac");
        }

        @Override public Map<java.lang.String, Long> members() {
            return map("mac", mac[0].offset(), "pad", pad.offset(), "master", master.offset());
        }
    }

    /** bpf/src/lib/proxy.h: an endpoint address (IPv4-mapped or IPv6), key of septum_lxc. */
    public static final class LxcKey extends Mirror {
        public final Unsigned8[] addr = array(new Unsigned8[16]);

        public LxcKey(Runtime r) {
            super(r, "lxc_key");
        }

        @Override public Map<java.lang.String, Long> members() {
            return map("addr", addr[0].offset());
        }
    }

    public static final class LxcValue extends Mirror {
        public final Unsigned32 ep_id = new Unsigned32();
        public final Unsigned32 ifindex = new Unsigned32();

        public LxcValue(Runtime r) {
            super(r, "lxc_value");
        }

        @Override public Map<java.lang.String, Long> members() {
            return map("ep_id", ep_id.offset(), "ifindex", ifindex.offset());
        }
    }

    public static final class EndpointValue extends Mirror {
        public final Unsigned32 ep_id = new Unsigned32();
        public final Unsigned32 identity = new Unsigned32();
        public final Unsigned32 flags = new Unsigned32();

        public EndpointValue(Runtime r) {
            super(r, "endpoint_value");
        }

        @Override public Map<java.lang.String, Long> members() {
            return map("ep_id", ep_id.offset(), "identity", identity.offset(), "flags", flags.offset());
        }
    }

    /** ep_id, identity and dport are big-endian in C (prefix order); the codec swaps them. */
    public static final class PolicyKey extends Mirror {
        public final Unsigned32 prefixlen = new Unsigned32();
        public final Unsigned32 ep_id = new Unsigned32();
        public final Unsigned32 identity = new Unsigned32();
        public final Unsigned8 dir = new Unsigned8();
        public final Unsigned8 proto = new Unsigned8();
        public final Unsigned16 dport = new Unsigned16();

        public PolicyKey(Runtime r) {
            super(r, "policy_key");
        }

        @Override public Map<java.lang.String, Long> members() {
            return map("prefixlen", prefixlen.offset(), "ep_id", ep_id.offset(), "identity", identity.offset(), "dir", dir.offset(), "proto", proto.offset(),
                    "dport", dport.offset());
        }
    }

    public static final class PolicyValue extends Mirror {
        public final Unsigned8 action = new Unsigned8();
        public final Unsigned8 flags = new Unsigned8();
        public final Unsigned16 proxy_port = new Unsigned16();
        public final Unsigned32 rule_id = new Unsigned32();

        public PolicyValue(Runtime r) {
            super(r, "policy_value");
        }

        @Override public Map<java.lang.String, Long> members() {
            return map("action", action.offset(), "flags", flags.offset(), "proxy_port", proxy_port.offset(), "rule_id", rule_id.offset());
        }
    }

    public static final class PolicyStatsKey extends Mirror {
        public final Unsigned32 ep_id = new Unsigned32();
        public final Unsigned32 rule_id = new Unsigned32();
        public final Unsigned8 dir = new Unsigned8();
        public final Unsigned8[] pad = array(new Unsigned8[3]);

        public PolicyStatsKey(Runtime r) {
            super(r, "policy_stats_key");
        }

        @Override public Map<java.lang.String, Long> members() {
            return map("ep_id", ep_id.offset(), "rule_id", rule_id.offset(), "dir", dir.offset(), "pad", pad[0].offset());
        }
    }

    public static final class CtKey extends Mirror {
        public final Unsigned8[] saddr = array(new Unsigned8[16]);
        public final Unsigned8[] daddr = array(new Unsigned8[16]);
        public final Unsigned16 sport = new Unsigned16();
        public final Unsigned16 dport = new Unsigned16();
        public final Unsigned8 proto = new Unsigned8();
        public final Unsigned8 dir = new Unsigned8();
        public final Unsigned16 pad = new Unsigned16();
        public final Unsigned32 ep_id = new Unsigned32();

        public CtKey(Runtime r) {
            super(r, "ct_key");
        }

        @Override public Map<java.lang.String, Long> members() {
            return map("saddr", saddr[0].offset(), "daddr", daddr[0].offset(), "sport", sport.offset(), "dport", dport.offset(), "proto", proto.offset(),
                    "dir", dir.offset(), "pad", pad.offset(), "ep_id", ep_id.offset());
        }
    }

    public static final class CtValue extends Mirror {
        public final Unsigned64 last_seen = new Unsigned64();
        public final Unsigned32 flags = new Unsigned32();
        public final Unsigned32 rule_id = new Unsigned32();
        public final Unsigned32 epoch = new Unsigned32();
        public final Unsigned32 pad = new Unsigned32();

        public CtValue(Runtime r) {
            super(r, "ct_value");
        }

        @Override public Map<java.lang.String, Long> members() {
            return map("last_seen", last_seen.offset(), "flags", flags.offset(), "rule_id", rule_id.offset(),
                    "epoch", epoch.offset(), "pad", pad.offset());
        }
    }

    public static final class Event extends Mirror {
        public final Unsigned64 timestamp = new Unsigned64();
        public final Unsigned8 type = new Unsigned8();
        public final Unsigned8 direction = new Unsigned8();
        public final Unsigned8 verdict = new Unsigned8();
        public final Unsigned8 family = new Unsigned8();
        public final Unsigned8 proto = new Unsigned8();
        public final Unsigned8 tcp_flags = new Unsigned8();
        public final Unsigned8 reply = new Unsigned8();
        public final Unsigned8 pad = new Unsigned8();
        public final Unsigned16 drop_reason = new Unsigned16();
        public final Unsigned16 sport = new Unsigned16();
        public final Unsigned16 dport = new Unsigned16();
        public final Unsigned16 pad2 = new Unsigned16();
        public final Unsigned32 ep_id = new Unsigned32();
        public final Unsigned32 src_identity = new Unsigned32();
        public final Unsigned32 dst_identity = new Unsigned32();
        public final Unsigned32 rule_id = new Unsigned32();
        public final Unsigned32 ifindex = new Unsigned32();
        public final Unsigned32 pad3 = new Unsigned32();
        public final Unsigned8[] saddr = array(new Unsigned8[16]);
        public final Unsigned8[] daddr = array(new Unsigned8[16]);

        public Event(Runtime r) {
            super(r, "septum_event");
        }

        @Override public Map<java.lang.String, Long> members() {
            return map("timestamp", timestamp.offset(), "type", type.offset(), "direction", direction.offset(), "verdict", verdict.offset(),
                    "family", family.offset(), "proto", proto.offset(), "tcp_flags", tcp_flags.offset(), "reply", reply.offset(), "pad", pad.offset(),
                    "drop_reason", drop_reason.offset(), "sport", sport.offset(), "dport", dport.offset(), "pad2", pad2.offset(), "ep_id", ep_id.offset(),
                    "src_identity", src_identity.offset(), "dst_identity", dst_identity.offset(), "rule_id", rule_id.offset(),
                    "ifindex", ifindex.offset(), "pad3", pad3.offset(), "saddr", saddr[0].offset(), "daddr", daddr[0].offset());
        }
    }

    // ---- load balancer (bpf/src/lib/lb.h)

    public static final class LbSvcKey extends Mirror {
        public final Unsigned8[] addr = array(new Unsigned8[16]);
        public final Unsigned16 port = new Unsigned16();
        public final Unsigned8 proto = new Unsigned8();
        public final Unsigned8 pad = new Unsigned8();

        public LbSvcKey(Runtime r) {
            super(r, "lb_svc_key");
        }

        @Override public Map<java.lang.String, Long> members() {
            return map("addr", addr[0].offset(), "port", port.offset(), "proto", proto.offset(), "pad", pad.offset());
        }
    }

    public static final class LbSvcValue extends Mirror {
        public final Unsigned32 svc_id = new Unsigned32();
        public final Unsigned16 count = new Unsigned16();
        public final Unsigned16 flags = new Unsigned16();

        public LbSvcValue(Runtime r) {
            super(r, "lb_svc_value");
        }

        @Override public Map<java.lang.String, Long> members() {
            return map("svc_id", svc_id.offset(), "count", count.offset(), "flags", flags.offset());
        }
    }

    public static final class LbSlotKey extends Mirror {
        public final Unsigned32 svc_id = new Unsigned32();
        public final Unsigned32 slot = new Unsigned32();

        public LbSlotKey(Runtime r) {
            super(r, "lb_slot_key");
        }

        @Override public Map<java.lang.String, Long> members() {
            return map("svc_id", svc_id.offset(), "slot", slot.offset());
        }
    }

    public static final class LbBackend extends Mirror {
        public final Unsigned8[] addr = array(new Unsigned8[16]);
        public final Unsigned16 port = new Unsigned16();
        public final Unsigned8[] mac = array(new Unsigned8[6]);

        public LbBackend(Runtime r) {
            super(r, "lb_backend");
        }

        @Override public Map<java.lang.String, Long> members() {
            return map("addr", addr[0].offset(), "port", port.offset(), "mac", mac[0].offset());
        }
    }

    public static final class LbCtKey extends Mirror {
        public final Unsigned8[] saddr = array(new Unsigned8[16]);
        public final Unsigned8[] vaddr = array(new Unsigned8[16]);
        public final Unsigned16 sport = new Unsigned16();
        public final Unsigned16 vport = new Unsigned16();
        public final Unsigned8 proto = new Unsigned8();
        public final Unsigned8[] pad = array(new Unsigned8[3]);

        public LbCtKey(Runtime r) {
            super(r, "lb_ct_key");
        }

        @Override public Map<java.lang.String, Long> members() {
            return map("saddr", saddr[0].offset(), "vaddr", vaddr[0].offset(), "sport", sport.offset(),
                    "vport", vport.offset(), "proto", proto.offset(), "pad", pad[0].offset());
        }
    }

    public static final class LbCtValue extends Mirror {
        public final Unsigned32 backend_id = new Unsigned32();
        public final Unsigned32 svc_id = new Unsigned32();

        public LbCtValue(Runtime r) {
            super(r, "lb_ct_value");
        }

        @Override public Map<java.lang.String, Long> members() {
            return map("backend_id", backend_id.offset(), "svc_id", svc_id.offset());
        }
    }

    public static final class LbRnatKey extends Mirror {
        public final Unsigned8[] baddr = array(new Unsigned8[16]);
        public final Unsigned8[] caddr = array(new Unsigned8[16]);
        public final Unsigned16 bport = new Unsigned16();
        public final Unsigned16 cport = new Unsigned16();
        public final Unsigned8 proto = new Unsigned8();
        public final Unsigned8[] pad = array(new Unsigned8[3]);

        public LbRnatKey(Runtime r) {
            super(r, "lb_rnat_key");
        }

        @Override public Map<java.lang.String, Long> members() {
            return map("baddr", baddr[0].offset(), "caddr", caddr[0].offset(), "bport", bport.offset(),
                    "cport", cport.offset(), "proto", proto.offset(), "pad", pad[0].offset());
        }
    }

    public static final class LbRnatValue extends Mirror {
        public final Unsigned8[] vaddr = array(new Unsigned8[16]);
        public final Unsigned16 vport = new Unsigned16();
        public final Unsigned16 pad = new Unsigned16();

        public LbRnatValue(Runtime r) {
            super(r, "lb_rnat_value");
        }

        @Override public Map<java.lang.String, Long> members() {
            return map("vaddr", vaddr[0].offset(), "vport", vport.offset(), "pad", pad.offset());
        }
    }

    public static final class LbVipValue extends Mirror {
        public final Unsigned32 services = new Unsigned32();

        public LbVipValue(Runtime r) {
            super(r, "lb_vip_value");
        }

        @Override public Map<java.lang.String, Long> members() {
            return map("services", services.offset());
        }
    }
}

package io.septum.datapath.ebpf.internal;

import io.septum.api.IpcacheEntry;
import io.septum.api.datapath.BpfEndpoint;
import io.septum.api.datapath.BpfPolicyEntry;
import io.septum.api.datapath.DatapathEndpoint;
import io.septum.api.datapath.RuleHits;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jnr.ffi.Runtime;

/**
 * Between the API's models and the bytes of the maps: endpoint and policy entries to write, and the maps read back
 * as the models {@code bpf endpoint list}, {@code bpf policy get}, {@code bpf ipcache list} and rule hits print.
 * Big-endian key fields are byte-swapped here; the layouts are {@link Structs}'.
 */
final class MapCodec {
    private final Runtime runtime;

    MapCodec(Runtime runtime) {
        this.runtime = runtime;
    }

    static int flags(DatapathEndpoint ep) {
        return (ep.ingressEnforced() ? BpfEndpoint.FLAG_INGRESS_ENFORCED : 0)
                | (ep.egressEnforced() ? BpfEndpoint.FLAG_EGRESS_ENFORCED : 0)
                | (ep.audit() ? BpfEndpoint.FLAG_AUDIT : 0)
                | (ep.host() ? BpfEndpoint.FLAG_HOST : 0);
    }

    byte[] endpointValue(DatapathEndpoint ep, int flags) {
        Structs.EndpointValue v = Structs.zeroed(new Structs.EndpointValue(runtime));
        v.ep_id.set(ep.id());
        v.identity.set(ep.identity());
        v.flags.set(flags);
        return v.bytes();
    }

    /** The endpoint id an endpoint value names. */
    long endpointIdOf(byte[] value) {
        return Structs.from(new Structs.EndpointValue(runtime), value).ep_id.get();
    }

    byte[] policyKey(PolicyCodec.Key k) {
        Structs.PolicyKey s = Structs.zeroed(new Structs.PolicyKey(runtime));
        s.prefixlen.set(k.prefixlen());
        s.ep_id.set(Integer.reverseBytes((int) k.epId()) & 0xffffffffL);
        s.identity.set(Integer.reverseBytes((int) k.identity()) & 0xffffffffL);
        s.dir.set(k.dir());
        s.proto.set(k.proto());
        s.dport.set(Short.reverseBytes((short) k.port()) & 0xffff);
        return s.bytes();
    }

    PolicyCodec.Key decodePolicyKey(byte[] b) {
        Structs.PolicyKey s = Structs.from(new Structs.PolicyKey(runtime), b);
        return new PolicyCodec.Key(Integer.reverseBytes((int) s.ep_id.get()) & 0xffffffffL,
                Integer.reverseBytes((int) s.identity.get()) & 0xffffffffL, s.dir.get(), s.proto.get(),
                Short.reverseBytes((short) s.dport.get()) & 0xffff, (int) s.prefixlen.get());
    }

    byte[] policyValue(PolicyCodec.Value v) {
        Structs.PolicyValue s = Structs.zeroed(new Structs.PolicyValue(runtime));
        s.action.set(v.action());
        s.flags.set(v.flags());
        s.proxy_port.set(v.proxyPort());
        s.rule_id.set(v.ruleId() & 0xffffffffL);
        return s.bytes();
    }

    Map<PolicyCodec.Key, PolicyCodec.Value> readPolicy(BpfMaps maps) {
        Map<PolicyCodec.Key, PolicyCodec.Value> out = new LinkedHashMap<>();
        for (Map.Entry<Bytes, byte[]> e : maps.policy.readAll().entrySet()) {
            Structs.PolicyValue v = Structs.from(new Structs.PolicyValue(runtime), e.getValue());
            out.put(decodePolicyKey(e.getKey().b()), new PolicyCodec.Value(v.action.get(), v.proxy_port.get(), (int) v.rule_id.get(),
                    v.flags.get()));
        }
        return out;
    }

    List<RuleHits> ruleHits(BpfMaps maps) {
        List<RuleHits> out = new ArrayList<>();
        for (byte[] k : maps.policyStats.keys()) {
            Structs.PolicyStatsKey sk = Structs.from(new Structs.PolicyStatsKey(runtime), k);
            long packets = maps.policyStats.percpuSum(k);
            if (packets == 0) continue;
            out.add(new RuleHits(sk.ep_id.get(), (int) sk.rule_id.get(),
                    sk.dir.get() == PolicyCodec.DIR_INGRESS ? "INGRESS" : "EGRESS", packets));
        }
        out.sort(Comparator.comparingLong(RuleHits::endpointId).thenComparingInt(RuleHits::ruleId)
                .thenComparing(RuleHits::direction));
        return out;
    }

    /** Packets per "dir/ruleId" for one endpoint, summed over CPUs. */
    private Map<String, Long> policyPackets(BpfMaps maps, long epId) {
        Map<String, Long> out = new HashMap<>();
        for (byte[] k : maps.policyStats.keys()) {
            Structs.PolicyStatsKey sk = Structs.from(new Structs.PolicyStatsKey(runtime), k);
            if (sk.ep_id.get() != epId) continue;
            out.merge(sk.dir.get() + "/" + (int) sk.rule_id.get(), maps.policyStats.percpuSum(k), Long::sum);
        }
        return out;
    }

    /** One endpoint's policy entries as {@code bpf policy get} prints them, with their rules' packets. */
    List<BpfPolicyEntry> policyOf(BpfMaps maps, long endpointId) {
        Map<String, Long> packets = policyPackets(maps, endpointId);
        List<Map.Entry<PolicyCodec.Key, PolicyCodec.Value>> mine = new ArrayList<>();
        for (Map.Entry<PolicyCodec.Key, PolicyCodec.Value> e : readPolicy(maps).entrySet()) {
            if (e.getKey().epId() == endpointId) mine.add(e);
        }
        mine.sort(Comparator.comparingInt((Map.Entry<PolicyCodec.Key, PolicyCodec.Value> e) -> e.getKey().dir())
                .thenComparingLong(e -> e.getKey().identity())
                .thenComparingInt(e -> e.getKey().proto())
                .thenComparingInt(e -> e.getKey().port()));
        List<BpfPolicyEntry> out = new ArrayList<>();
        for (Map.Entry<PolicyCodec.Key, PolicyCodec.Value> e : mine) {
            PolicyCodec.Key k = e.getKey();
            PolicyCodec.Value v = e.getValue();
            String proto = k.prefixlen() == PolicyCodec.PREFIX_ANY_PROTO ? "ANY" : EventDecoder.protocolName(k.proto());
            String ports;
            if (k.prefixlen() <= PolicyCodec.PREFIX_PROTO) ports = "*";
            else {
                int[] r = k.portRange();
                ports = r[0] == r[1] ? Integer.toString(r[0]) : r[0] + "-" + r[1];
            }
            String action = v.action() == PolicyCodec.ACTION_ALLOW ? "ALLOW"
                    : v.action() == PolicyCodec.ACTION_DENY ? "DENY" : "REDIRECT";
            if (v.audit()) action = v.action() == PolicyCodec.ACTION_ALLOW ? "AUDIT-DEFAULT" : action + " (audit)";
            String dir = k.dir() == PolicyCodec.DIR_INGRESS ? "INGRESS" : "EGRESS";
            out.add(new BpfPolicyEntry(dir, k.identity(), proto, ports, action, v.ruleId(),
                    packets.getOrDefault(k.dir() + "/" + v.ruleId(), 0L)));
        }
        return out;
    }

    /** The ipcache as {@code bpf ipcache list} prints it; {@code sources} names where each prefix came from. */
    List<IpcacheEntry> ipcache(BpfMaps maps, Map<String, String> sources) {
        List<IpcacheEntry> out = new ArrayList<>();
        for (Map.Entry<Bytes, byte[]> e : maps.ipcache.readAll().entrySet()) {
            Structs.IpcacheKey k = Structs.from(new Structs.IpcacheKey(runtime), e.getKey().b());
            byte[] addr = new byte[16];
            for (int i = 0; i < 16; i++) addr[i] = (byte) k.addr[i].get();
            String prefix = Ips.formatPrefix(addr, (int) k.prefixlen.get());
            long id = Structs.from(new Structs.IpcacheValue(runtime), e.getValue()).identity.get();
            out.add(new IpcacheEntry(prefix, id, sources.getOrDefault(prefix, "restored")));
        }
        out.sort(Comparator.comparing(IpcacheEntry::prefix));
        return out;
    }

    /** Deletes the endpoint's rule counters, conntrack entries, addresses, and the MACs of its interfaces. */
    void deleteEntriesOf(BpfMaps maps, long endpointId, List<Integer> ifindexes) {
        for (byte[] k : maps.policyStats.keys()) {
            if (Structs.from(new Structs.PolicyStatsKey(runtime), k).ep_id.get() == endpointId) maps.policyStats.delete(k);
        }
        int epOff = (int) new Structs.CtKey(runtime).ep_id.offset();
        for (byte[] k : maps.ct.keys()) {
            if (Bytes.u32(java.util.Arrays.copyOfRange(k, epOff, epOff + 4)) == endpointId) maps.ct.delete(k);
        }
        for (int ifindex : ifindexes) maps.ifmac.delete(Bytes.u32(ifindex));
        for (Map.Entry<Bytes, byte[]> e : maps.lxc.readAll().entrySet()) {
            if (Structs.from(new Structs.LxcValue(runtime), e.getValue()).ep_id.get() == endpointId) {
                maps.lxc.delete(e.getKey().b());
            }
        }
    }

    /** The interfaces the endpoints map holds for this endpoint (without reading their names). */
    List<Integer> ifindexesOf(BpfMaps maps, long endpointId) {
        List<Integer> out = new ArrayList<>();
        for (Map.Entry<Bytes, byte[]> e : maps.endpoints.readAll().entrySet()) {
            if (Structs.from(new Structs.EndpointValue(runtime), e.getValue()).ep_id.get() == endpointId) {
                out.add((int) Bytes.u32(e.getKey().b()));
            }
        }
        return out;
    }

    /**
     * Interface and cgroup endpoints as the maps hold them; {@code cgroupPaths} names cgroup ids (null: the cgroup
     * object is not loaded, so there are none).
     */
    List<BpfEndpoint> endpoints(BpfMaps maps, Map<Long, String> cgroupPaths) {
        List<BpfEndpoint> out = new ArrayList<>();
        Map<Bytes, byte[]> entries = maps.endpoints.readAll();
        Map<Integer, String> names = entries.isEmpty() ? Map.of() : TcAttach.ifnames();
        for (Map.Entry<Bytes, byte[]> e : entries.entrySet()) {
            int ifindex = (int) Bytes.u32(e.getKey().b());
            Structs.EndpointValue v = Structs.from(new Structs.EndpointValue(runtime), e.getValue());
            out.add(new BpfEndpoint(ifindex, v.ep_id.get(), v.identity.get(), (int) v.flags.get(), names.getOrDefault(ifindex, "")));
        }
        if (cgroupPaths != null) {
            for (Map.Entry<Bytes, byte[]> e : maps.cgroupEndpoints.readAll().entrySet()) {
                long cgid = Bytes.u64(e.getKey().b());
                Structs.EndpointValue v = Structs.from(new Structs.EndpointValue(runtime), e.getValue());
                // no interface: ifindex 0, and the cgroup where the name would be
                out.add(new BpfEndpoint(0, v.ep_id.get(), v.identity.get(), (int) v.flags.get(),
                        cgroupPaths.getOrDefault(cgid, "cgroup id " + cgid)));
            }
        }
        out.sort(Comparator.comparingLong(BpfEndpoint::endpointId).thenComparingInt(BpfEndpoint::ifindex));
        return out;
    }
}

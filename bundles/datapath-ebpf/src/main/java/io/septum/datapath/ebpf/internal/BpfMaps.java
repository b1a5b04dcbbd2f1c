package io.septum.datapath.ebpf.internal;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jnr.ffi.Runtime;

/**
 * Every pinned map of {@code bpf/src/lib/maps.h}, which both objects carry and share through their pins, with the
 * key and value sizes of its Java mirrors. The sizes are checked against each object's own map definitions when
 * it is loaded (and by {@code StructLayoutTest} without root), so a struct changed on one side only is refused.
 */
final class BpfMaps {
    /** A map's name and the sizes its Java side reads and writes. */
    record Spec(String name, int keySize, int valueSize) {
    }

    static final String IPCACHE = "septum_ipcache", ENDPOINTS = "septum_endpoints", POLICY = "septum_policy",
            POLICY_STATS = "septum_policy_stats", CT = "septum_ct", EPOCH = "septum_epoch", EVENTS = "septum_events", STATS = "septum_stats",
            LB_SERVICES = "septum_lb_services", LB_SLOTS = "septum_lb_slots", LB_BACKENDS = "septum_lb_backends",
            LB_CT = "septum_lb_ct", LB_RNAT = "septum_lb_rnat", LB_VIPS = "septum_lb_vips", PROXY = "septum_proxy",
            LXC = "septum_lxc", IFMAC = "septum_ifmac", FAILSAFE = "septum_failsafe",
            CGROUP_ENDPOINTS = "septum_cgroup_endpoints";

    private static final int U8 = 1, U32 = 4, U64 = 8;

    /** Every pinned map, in maps.h's order. A ring buffer has no key or value. */
    static List<Spec> specs(Runtime r) {
        int epValue = new Structs.EndpointValue(r).size();
        return List.of(
                new Spec(IPCACHE, new Structs.IpcacheKey(r).size(), new Structs.IpcacheValue(r).size()),
                new Spec(ENDPOINTS, U32, epValue),
                new Spec(POLICY, new Structs.PolicyKey(r).size(), new Structs.PolicyValue(r).size()),
                new Spec(POLICY_STATS, new Structs.PolicyStatsKey(r).size(), U64),
                new Spec(CT, new Structs.CtKey(r).size(), new Structs.CtValue(r).size()),
                new Spec(EPOCH, U32, U32),
                new Spec(EVENTS, 0, 0),
                new Spec(STATS, U32, U64),
                new Spec(LB_SERVICES, new Structs.LbSvcKey(r).size(), new Structs.LbSvcValue(r).size()),
                new Spec(LB_SLOTS, new Structs.LbSlotKey(r).size(), U32),
                new Spec(LB_BACKENDS, U32, new Structs.LbBackend(r).size()),
                new Spec(LB_CT, new Structs.LbCtKey(r).size(), new Structs.LbCtValue(r).size()),
                new Spec(LB_RNAT, new Structs.LbRnatKey(r).size(), new Structs.LbRnatValue(r).size()),
                new Spec(LB_VIPS, new Structs.IpcacheKey(r).size(), new Structs.LbVipValue(r).size()),
                new Spec(PROXY, U32, new Structs.ProxyConfig(r).size()),
                new Spec(LXC, new Structs.LxcKey(r).size(), new Structs.LxcValue(r).size()),
                new Spec(IFMAC, U32, new Structs.IfMac(r).size()),
                new Spec(FAILSAFE, new Structs.FailsafeKey(r).size(), U8),
                new Spec(CGROUP_ENDPOINTS, U64, epValue));
    }

    static List<String> names(Runtime r) {
        return specs(r).stream().map(Spec::name).toList();
    }

    final BpfMap ipcache, endpoints, policy, policyStats, ct, epoch, events, stats, lbServices, lbSlots, lbBackends, lbVips,
            proxy, lxc, ifmac, failsafe, cgroupEndpoints;
    private final Map<String, BpfMap> byName;

    BpfMaps(Map<String, BpfMap> byName) {
        this.byName = new LinkedHashMap<>(byName);
        ipcache = get(IPCACHE);
        endpoints = get(ENDPOINTS);
        policy = get(POLICY);
        policyStats = get(POLICY_STATS);
        ct = get(CT);
        epoch = get(EPOCH);
        events = get(EVENTS);
        stats = get(STATS);
        lbServices = get(LB_SERVICES);
        lbSlots = get(LB_SLOTS);
        lbBackends = get(LB_BACKENDS);
        lbVips = get(LB_VIPS);
        proxy = get(PROXY);
        lxc = get(LXC);
        ifmac = get(IFMAC);
        failsafe = get(FAILSAFE);
        cgroupEndpoints = get(CGROUP_ENDPOINTS);
    }

    private BpfMap get(String name) {
        BpfMap m = byName.get(name);
        if (m == null) throw new IllegalStateException("no loaded map " + name);
        return m;
    }
}

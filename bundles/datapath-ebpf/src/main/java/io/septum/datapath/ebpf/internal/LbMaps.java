package io.septum.datapath.ebpf.internal;

import io.septum.api.datapath.DatapathException;
import io.septum.api.service.Service;
import io.septum.api.service.ServiceBackend;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jnr.ffi.Runtime;

/**
 * The load-balancer maps of {@code bpf/src/lib/lb.h}: services, backend slots, backends and the VIP set. Called
 * by {@link EbpfDatapath} under its lock. Backend ids are per (service, address, port) and kept while the backend
 * stays, so that the LB conntrack of established connections keeps pointing at the same backend; a removed
 * backend's id disappears from the backends map, and its connections pick a live backend on their next packet.
 */
final class LbMaps {
    static final int PROTO_TCP = 6, PROTO_UDP = 17;

    /** "svcId|addr|port" to backend id. */
    private final Map<String, Integer> ids = new HashMap<>();
    private boolean seeded;
    private int nextId = 1;
    /** The services as last synced, by id, for names in {@link #read}. */
    private final Map<Long, Service> names = new HashMap<>();

    record Backend(byte[] addr, int port, byte[] mac) {
    }

    record Svc(Service service, byte[] addr, int port, int proto, List<Backend> backends) {
    }

    record Desired(List<Svc> services) {
    }

    /** Validates and converts, outside the lock; throws naming the service and the field. */
    Desired compile(List<Service> services, Runtime runtime) throws DatapathException {
        List<Svc> out = new ArrayList<>();
        Map<String, Long> frontends = new HashMap<>();
        for (Service s : services) {
            String what = "service " + s.id() + " (" + s.qualifiedName() + ")";
            if (s.id() <= 0 || s.id() > 0xffffffffL) throw new DatapathException(what + ": id out of range");
            byte[] vip = v4(s.frontendIp(), what + ": frontend IP");
            if (s.frontendPort() < 1 || s.frontendPort() > 65535) {
                throw new DatapathException(what + ": frontend port " + s.frontendPort() + " is outside 1-65535");
            }
            int proto = switch (s.protocol() == null ? "TCP" : s.protocol().toUpperCase(Locale.ROOT)) {
                case "TCP" -> PROTO_TCP;
                case "UDP" -> PROTO_UDP;
                default -> throw new DatapathException(what + ": protocol " + s.protocol() + " is not TCP or UDP");
            };
            Long other = frontends.put(s.frontendIp() + ":" + s.frontendPort() + "/" + proto, s.id());
            if (other != null) throw new DatapathException(what + ": frontend " + s.frontend() + " is also service " + other + "'s");
            List<Backend> backends = new ArrayList<>();
            for (ServiceBackend b : s.backends()) {
                if (!b.active() || b.ip().contains(":")) continue; // IPv4 only; inactive backends get no slot
                if (b.port() < 1 || b.port() > 65535) throw new DatapathException(what + ": backend " + b.target() + " port " + b.port() + " is outside 1-65535");
                backends.add(new Backend(v4(b.ip(), what + ": backend " + b.target()), b.port(), mac(b.mac(), what + ": backend " + b.target())));
            }
            if (backends.size() > 0xffff) throw new DatapathException(what + ": more than 65535 backends");
            out.add(new Svc(s, vip, s.frontendPort(), proto, backends));
        }
        return new Desired(out);
    }

    private static byte[] v4(String ip, String what) throws DatapathException {
        if (ip == null || ip.contains(":")) throw new DatapathException(what + " \"" + ip + "\" is not an IPv4 address (services are IPv4 only)");
        try {
            Ips.Prefix p = Ips.parsePrefix(ip);
            if (p.prefixlen() != 128) throw new IllegalArgumentException("a prefix, not an address");
            return p.addr();
        } catch (IllegalArgumentException e) {
            throw new DatapathException(what + " \"" + ip + "\": " + e.getMessage(), e);
        }
    }

    private static byte[] mac(String text, String what) throws DatapathException {
        byte[] m = new byte[6];
        if (text == null || text.isBlank()) return m;
        String[] parts = text.trim().split(":");
        if (parts.length != 6) throw new DatapathException(what + ": MAC \"" + text + "\" is not six hex bytes");
        try {
            for (int i = 0; i < 6; i++) m[i] = (byte) Integer.parseInt(parts[i], 16);
        } catch (NumberFormatException e) {
            throw new DatapathException(what + ": MAC \"" + text + "\" is not six hex bytes", e);
        }
        return m;
    }

    /**
     * Makes the maps hold exactly {@code want}. Order: backends, slots, services (a grown service's slots exist
     * before its count does), VIPs, then stale services, slots (a shrunk service's count is already lower),
     * backends and VIPs. A failed write puts every earlier write back.
     */
    void apply(Desired want, BpfMaps maps, Runtime runtime) throws DatapathException {
        seed(maps, runtime);
        Map<Bytes, byte[]> curSvc = maps.lbServices.readAll();
        Map<Bytes, byte[]> curSlots = maps.lbSlots.readAll();
        Map<Bytes, byte[]> curBackends = maps.lbBackends.readAll();
        Map<Bytes, byte[]> curVips = maps.lbVips.readAll();

        Map<Bytes, byte[]> svc = new LinkedHashMap<>(), slots = new LinkedHashMap<>(),
                backends = new LinkedHashMap<>(), vips = new LinkedHashMap<>();
        Map<String, Integer> newIds = new HashMap<>();
        Map<Bytes, Integer> vipCount = new LinkedHashMap<>();
        for (Svc s : want.services()) {
            int slot = 0;
            for (Backend b : s.backends()) {
                String k = s.service().id() + "|" + Arrays.toString(b.addr()) + "|" + b.port();
                if (newIds.containsKey(k)) continue; // the same backend twice gets one slot
                Integer id = ids.get(k);
                if (id == null) id = nextId++;
                newIds.put(k, id);
                Structs.LbBackend v = Structs.zeroed(new Structs.LbBackend(runtime));
                for (int i = 0; i < 16; i++) v.addr[i].set(b.addr()[i] & 0xff);
                v.port.set(b.port());
                for (int i = 0; i < 6; i++) v.mac[i].set(b.mac()[i] & 0xff);
                backends.put(new Bytes(Bytes.u32(id)), v.bytes());
                Structs.LbSlotKey sk = Structs.zeroed(new Structs.LbSlotKey(runtime));
                sk.svc_id.set(s.service().id());
                sk.slot.set(++slot);
                slots.put(new Bytes(sk.bytes()), Bytes.u32(id));
            }
            Structs.LbSvcKey k = Structs.zeroed(new Structs.LbSvcKey(runtime));
            for (int i = 0; i < 16; i++) k.addr[i].set(s.addr()[i] & 0xff);
            k.port.set(s.port());
            k.proto.set(s.proto());
            Structs.LbSvcValue v = Structs.zeroed(new Structs.LbSvcValue(runtime));
            v.svc_id.set(s.service().id());
            v.count.set(slot);
            svc.put(new Bytes(k.bytes()), v.bytes());
            Structs.IpcacheKey vk = Structs.zeroed(new Structs.IpcacheKey(runtime));
            vk.prefixlen.set(128);
            for (int i = 0; i < 16; i++) vk.addr[i].set(s.addr()[i] & 0xff);
            vipCount.merge(new Bytes(vk.bytes()), 1, Integer::sum);
        }
        for (Map.Entry<Bytes, Integer> e : vipCount.entrySet()) vips.put(e.getKey(), Bytes.u32(e.getValue()));

        MapTransaction undo = new MapTransaction();
        try {
            put(undo, maps.lbBackends, backends, curBackends, "load-balancer backend");
            put(undo, maps.lbSlots, slots, curSlots, "load-balancer slot");
            put(undo, maps.lbServices, svc, curSvc, "load-balancer service");
            put(undo, maps.lbVips, vips, curVips, "load-balancer VIP");
            delete(undo, maps.lbServices, svc, curSvc, "stale load-balancer service");
            delete(undo, maps.lbSlots, slots, curSlots, "stale load-balancer slot");
            delete(undo, maps.lbBackends, backends, curBackends, "stale load-balancer backend");
            delete(undo, maps.lbVips, vips, curVips, "stale load-balancer VIP");
        } catch (DatapathException e) {
            undo.rollback();
            throw e;
        }
        ids.clear();
        ids.putAll(newIds);
        names.clear();
        for (Svc s : want.services()) names.put(s.service().id(), s.service());
    }

    private static void put(MapTransaction undo, BpfMap map, Map<Bytes, byte[]> want, Map<Bytes, byte[]> cur,
                            String what) throws DatapathException {
        for (Map.Entry<Bytes, byte[]> e : want.entrySet()) {
            byte[] old = cur.get(e.getKey());
            if (old == null || !Arrays.equals(old, e.getValue())) undo.put(map, e.getKey().b(), e.getValue(), old, what);
        }
    }

    private static void delete(MapTransaction undo, BpfMap map, Map<Bytes, byte[]> want, Map<Bytes, byte[]> cur,
                               String what) throws DatapathException {
        for (Map.Entry<Bytes, byte[]> e : cur.entrySet()) {
            if (!want.containsKey(e.getKey())) undo.delete(map, e.getKey().b(), e.getValue(), what);
        }
    }

    /** After a restart: the ids that the pinned maps use, so that established connections keep their backend. */
    private void seed(BpfMaps maps, Runtime runtime) {
        if (seeded) return;
        seeded = true;
        Map<Bytes, byte[]> backends = maps.lbBackends.readAll();
        for (Map.Entry<Bytes, byte[]> e : maps.lbSlots.readAll().entrySet()) {
            Structs.LbSlotKey sk = Structs.from(new Structs.LbSlotKey(runtime), e.getKey().b());
            int id = (int) Bytes.u32(e.getValue());
            byte[] bv = backends.get(new Bytes(e.getValue()));
            if (bv == null) continue;
            Structs.LbBackend b = Structs.from(new Structs.LbBackend(runtime), bv);
            byte[] addr = new byte[16];
            for (int i = 0; i < 16; i++) addr[i] = (byte) b.addr[i].get();
            ids.put(sk.svc_id.get() + "|" + Arrays.toString(addr) + "|" + b.port.get(), id);
            nextId = Math.max(nextId, id + 1);
        }
        for (Bytes k : backends.keySet()) nextId = Math.max(nextId, (int) Bytes.u32(k.b()) + 1);
    }

    /** The maps as services: frontends with the backends in their slots (names from the last sync). */
    List<Service> read(BpfMaps maps, Runtime runtime) {
        List<Service> out = new ArrayList<>();
        for (Map.Entry<Bytes, byte[]> e : maps.lbServices.readAll().entrySet()) {
            Structs.LbSvcKey k = Structs.from(new Structs.LbSvcKey(runtime), e.getKey().b());
            Structs.LbSvcValue v = Structs.from(new Structs.LbSvcValue(runtime), e.getValue());
            byte[] vip = new byte[16];
            for (int i = 0; i < 16; i++) vip[i] = (byte) k.addr[i].get();
            long id = v.svc_id.get();
            List<ServiceBackend> backends = new ArrayList<>();
            for (int slot = 1; slot <= v.count.get(); slot++) {
                Structs.LbSlotKey sk = Structs.zeroed(new Structs.LbSlotKey(runtime));
                sk.svc_id.set(id);
                sk.slot.set(slot);
                byte[] bid = maps.lbSlots.lookup(sk.bytes());
                byte[] bv = bid == null ? null : maps.lbBackends.lookup(bid);
                if (bv == null) {
                    backends.add(new ServiceBackend("slot " + slot, 0, null, "missing", null));
                    continue;
                }
                Structs.LbBackend b = Structs.from(new Structs.LbBackend(runtime), bv);
                byte[] addr = new byte[16];
                for (int i = 0; i < 16; i++) addr[i] = (byte) b.addr[i].get();
                StringBuilder mac = new StringBuilder();
                for (int i = 0; i < 6; i++) mac.append(i == 0 ? "" : ":").append(String.format("%02x", b.mac[i].get()));
                String ip = Ips.format(addr);
                backends.add(new ServiceBackend(ip, b.port.get(), ip, ServiceBackend.ACTIVE,
                        mac.toString().equals("00:00:00:00:00:00") ? null : mac.toString()));
            }
            Service known = names.get(id);
            out.add(new Service(id, known == null ? "" : known.name(), known == null ? "" : known.namespace(),
                    Ips.format(vip), k.port.get(), k.proto.get() == PROTO_UDP ? "UDP" : "TCP", Service.CLUSTER_IP,
                    backends, "datapath"));
        }
        out.sort((a, b) -> Long.compare(a.id(), b.id()));
        return out;
    }
}

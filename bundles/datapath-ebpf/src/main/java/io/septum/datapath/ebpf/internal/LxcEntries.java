package io.septum.datapath.ebpf.internal;

import io.septum.api.datapath.DatapathEndpoint;
import io.septum.api.datapath.DatapathException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import jnr.ffi.Runtime;

/**
 * An interface endpoint's entries for L7 redirection: its addresses in {@code septum_lxc} (so that a client's
 * program can read the destination's ingress policy) and its interface's MAC in {@code septum_ifmac}.
 */
final class LxcEntries {
    private LxcEntries() {
    }

    /** Makes the endpoint's addresses (and only those) point to it in septum_lxc, and records its interface's MAC. */
    static void sync(BpfMaps maps, Runtime runtime, DatapathEndpoint ep) throws DatapathException {
        HostSide host = hostSide(ep);
        if (host != null) {
            Structs.IfMac v = Structs.zeroed(new Structs.IfMac(runtime));
            for (int i = 0; i < 6; i++) v.mac[i].set(host.mac()[i] & 0xff);
            v.master.set(host.bridge());
            int rc = maps.ifmac.update(Bytes.u32(ep.ifindex()), v.bytes(), LibBpf.BPF_ANY);
            if (rc < 0) throw new DatapathException("writing the interface address of endpoint " + ep.id() + " failed: " + BpfErrors.errno(-rc));
        }
        Map<Bytes, byte[]> desired = new LinkedHashMap<>();
        for (String a : ep.addresses()) {
            Ips.Prefix p;
            try {
                p = Ips.parsePrefix(a.contains("/") ? a.substring(0, a.indexOf('/')) : a);
            } catch (IllegalArgumentException ex) {
                throw new DatapathException("endpoint " + ep.id() + ": address " + a + ": " + ex.getMessage(), ex);
            }
            Structs.LxcValue v = Structs.zeroed(new Structs.LxcValue(runtime));
            v.ep_id.set(ep.id());
            v.ifindex.set(ep.ifindex());
            desired.put(new Bytes(p.addr().clone()), v.bytes());
        }
        for (Map.Entry<Bytes, byte[]> e : maps.lxc.readAll().entrySet()) {
            boolean mine = Structs.from(new Structs.LxcValue(runtime), e.getValue()).ep_id.get() == ep.id();
            if (mine && !desired.containsKey(e.getKey())) maps.lxc.delete(e.getKey().b());
        }
        for (Map.Entry<Bytes, byte[]> e : desired.entrySet()) {
            int rc = maps.lxc.update(e.getKey().b(), e.getValue(), LibBpf.BPF_ANY);
            if (rc < 0) throw new DatapathException("writing the address entry of endpoint " + ep.id() + " failed: " + BpfErrors.errno(-rc));
        }
    }

    /** The MAC that makes the host take a frame from an interface, and the ifindex of its bridge (0: none). */
    private record HostSide(byte[] mac, int bridge) {
    }

    /** The MAC that makes the host's stack take a frame from this interface (its bridge's, else its own) and the bridge; null when it cannot be read (redirection then fails closed). */
    private static HostSide hostSide(DatapathEndpoint ep) {
        // the interface's own name first; the walk of every link in sysfs only when that one fails
        for (int attempt = 0; attempt < 2; attempt++) {
            String name = attempt == 0 ? ep.interfaceName() : TcAttach.ifname(ep.ifindex());
            if (name == null || name.isEmpty()) continue;
            try {
                // a bridge port: the bridge's own address, which the bridge hands to the host stack as PACKET_HOST
                Path master = Path.of("/sys/class/net", name, "master");
                boolean port = java.nio.file.Files.exists(master);
                Path dev = port ? master.toRealPath() : Path.of("/sys/class/net", name);
                String text = java.nio.file.Files.readString(dev.resolve("address")).trim();
                String[] parts = text.split(":");
                if (parts.length != 6) continue;
                byte[] mac = new byte[6];
                for (int i = 0; i < 6; i++) mac[i] = (byte) Integer.parseInt(parts[i], 16);
                int bridge = port ? Integer.parseInt(java.nio.file.Files.readString(dev.resolve("ifindex")).trim()) : 0;
                return new HostSide(mac, bridge);
            } catch (java.io.IOException | RuntimeException e) {
                // try the next name
            }
        }
        return null;
    }
}

package io.septum.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EndpointSnapshotTest {
    static Endpoint ep(long id, String ns, String name, long identity, String... addresses) {
        return new Endpoint(id, name, ns, "netns", List.of(), identity, EndpointState.READY, List.of(addresses), "veth" + id,
                (int) id, null, false, false, Map.of(), 1, null);
    }

    final EndpointSnapshot snap = new EndpointSnapshot(7,
            List.of(ep(1, "default", "web", 300, "10.0.0.1"), ep(2, "other", "web", 301, "10.0.0.2/32", "fd00::2"),
                    ep(3, "default", "db", 302, "10.0.0.3")),
            List.of(new IpcacheEntry("10.0.0.0/8", 1000, "policy-cidr"), new IpcacheEntry("10.0.0.0/24", 1001, "policy-cidr"),
                    new IpcacheEntry("10.0.0.1/32", 300, "endpoint:1"), new IpcacheEntry("fd00::/16", 1002, "policy-cidr"),
                    new IpcacheEntry("0.0.0.0/0", 2, "world")));

    @Test
    void findsEndpointsByIdNameAndAddress() throws Exception {
        assertEquals(7, snap.revision());
        assertEquals(3, snap.byName("3").orElseThrow().id());
        assertEquals(1, snap.byName("default/web").orElseThrow().id());
        assertTrue(snap.byName("web").isEmpty(), "a bare name two namespaces share names neither");
        assertEquals(3, snap.byName("db").orElseThrow().id());
        assertEquals(2, snap.byIp("10.0.0.2").orElseThrow().id());
        assertEquals(2, snap.byIp(InetAddress.getByName("fd00::2")).orElseThrow().id());
        assertTrue(snap.byIp("10.0.0.9").isEmpty());
        assertTrue(snap.byIp("not-an-ip").isEmpty());
    }

    @Test
    void identityIsTheLongestPrefixs() throws Exception {
        assertEquals(300, snap.identityOf(InetAddress.getByName("10.0.0.1")));
        assertEquals(1001, snap.identityOf(InetAddress.getByName("10.0.0.77")));
        assertEquals(1000, snap.identityOf(InetAddress.getByName("10.9.0.1")));
        assertEquals(2, snap.identityOf(InetAddress.getByName("192.0.2.1")));
        assertEquals(1002, snap.identityOf(InetAddress.getByName("fd00::99")));
        assertEquals(0, snap.identityOf(InetAddress.getByName("2001:db8::1")), "no IPv6 entry: the caller's world");
        assertEquals(0, EndpointSnapshot.EMPTY.identityOf(InetAddress.getByName("10.0.0.1")));
    }
}

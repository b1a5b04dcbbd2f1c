package io.septum.endpoints.internal;

import io.septum.api.Identity;
import io.septum.api.IpcacheEntry;
import io.septum.api.RemoteEndpoint;
import io.septum.api.ReservedIdentity;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class RemoteIpcacheTest {
    static final long WEB = ReservedIdentity.FIRST_ALLOCATED;
    static final long DB = ReservedIdentity.FIRST_ALLOCATED + 1;
    static final Identity WEB_ID = new Identity(WEB, List.of("k8s:app=web"), false);
    static final Identity DB_ID = new Identity(DB, List.of("k8s:app=db"), false);
    final RemoteIpcache cache = new RemoteIpcache();

    static Identity labels(long id) {
        return id == WEB ? WEB_ID : id == DB ? DB_ID : null;
    }

    @Test
    void eachRemoteEndpointWithAnAddressIsOneHostEntryOfItsNode() {
        var web = new RemoteEndpoint("10.1.0.5", WEB, "node-a", "default", "web");
        var v6 = new RemoteEndpoint("fd00::5", WEB, "node-a", "default", "web");
        var bad = new RemoteEndpoint("not-an-ip", DB, "node-b", "default", "db");
        var node = new RemoteEndpoint("192.0.2.12", ReservedIdentity.REMOTE_NODE.id(), "node-b", "", "node-b");
        cache.replaceAll(List.of(web, v6, bad, node), RemoteIpcacheTest::labels);
        assertEquals(List.of(new IpcacheEntry("10.1.0.5/32", WEB, "kvstore:node-a"),
                new IpcacheEntry("192.0.2.12/32", ReservedIdentity.REMOTE_NODE.id(), "kvstore:node-b"),
                new IpcacheEntry("fd00::5/128", WEB, "kvstore:node-a")), cache.entries(), "one per prefix, by prefix");
        assertEquals(Map.of(WEB, WEB_ID, DB, DB_ID), cache.identities(),
                "an endpoint without an entry still names its identity for selectors");
        assertEquals(List.of(web, v6, bad, node), cache.endpoints());
    }

    @Test
    void anUnchangedEndpointKeepsItsEntryAndAGoneOneTakesItsIdentityAlong() {
        var web = new RemoteEndpoint("10.1.0.5", WEB, "node-a", "default", "web");
        var db = new RemoteEndpoint("10.2.0.5", DB, "node-b", "default", "db");
        cache.replaceAll(List.of(web, db), RemoteIpcacheTest::labels);
        IpcacheEntry webEntry = cache.entries().get(0);
        cache.replaceAll(List.of(web), RemoteIpcacheTest::labels);
        assertSame(webEntry, cache.entries().get(0));
        assertEquals(1, cache.entries().size());
        assertEquals(Map.of(WEB, WEB_ID), cache.identities());
        cache.replaceAll(List.of(), RemoteIpcacheTest::labels);
        assertEquals(List.of(), cache.entries());
        assertEquals(Map.of(), cache.identities());
    }

    @Test
    void ofTwoEndpointsClaimingOneAddressTheLaterWinsInTheIpcache() {
        var first = new RemoteEndpoint("10.1.0.5", WEB, "node-a", "default", "web");
        var later = new RemoteEndpoint("10.1.0.5", DB, "node-b", "default", "db");
        cache.replaceAll(List.of(first, later), RemoteIpcacheTest::labels);
        var built = new IpcacheBuilder().remote(cache).build();
        assertEquals(List.of(new IpcacheEntry("10.1.0.5/32", DB, "kvstore:node-b")), built);
    }
}

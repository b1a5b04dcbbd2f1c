package io.septum.endpoints.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.septum.api.Identity;
import io.septum.api.NamedPort;
import io.septum.api.RemoteEndpoint;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class NamedPortsTest {
    private static ManagedEndpoint local(long id, long identity, List<NamedPort> ports) {
        ManagedEndpoint ep = new ManagedEndpoint(id, "netns", "ep" + id);
        ep.spec = Fakes.spec("ep" + id, "ep" + id, null, Map.of("app", "x"), "veth" + id, "10.199.0." + id)
                .withPorts(ports);
        ep.identity = new Identity(identity, List.of("netns:app=x"), false);
        return ep;
    }

    @Test
    void localAndRemoteEndpointsNamePortsByIdentityAndShareThemWithinOne() {
        NamedPort http80 = new NamedPort("http", 80, "TCP");
        NamedPort http8080 = new NamedPort("http", 8080, "TCP");
        NamedPort dns = new NamedPort("dns", 53, "UDP");
        ManagedEndpoint refused = local(3, 302, List.of(dns));
        refused.refusal = "bad labels";
        var got = NamedPorts.byIdentity(List.of(local(2, 300, List.of(http8080)), local(1, 300, List.of(http80)),
                        refused, local(4, 303, List.of())),
                List.of(new RemoteEndpoint("10.1.0.9", 301, "node-b", "ns", "db", List.of(dns)),
                        new RemoteEndpoint("10.1.0.8", 300, "node-a", "ns", "web", List.of(http80))));
        // one identity, two numbers: both, in endpoint id order, the remote duplicate once
        assertEquals(Map.of(300L, List.of(http80, http8080), 301L, List.of(dns)), got);
    }
}

package io.septum.view;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.Endpoint;
import io.septum.api.EndpointState;
import io.septum.api.NamedPort;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EndpointViewTest {
    private static Endpoint endpoint(List<NamedPort> ports) {
        return new Endpoint(7, "web", "default", "netns", List.of("netns:app=web"), 300, EndpointState.READY,
                List.of("10.199.0.7"), "veth7", 12, "web", true, false, Map.of(), 3, null, false, ports);
    }

    @Test
    void namedPortsArePrintedOnePerLineOnlyWhenThereAreSome() {
        String v = Views.endpoint(endpoint(List.of(new NamedPort("http", 8080, "TCP"), new NamedPort("dns", 53, "UDP"))));
        assertTrue(v.contains("Named ports:        http=8080/TCP\n                    dns=53/UDP\n"), v);
        assertFalse(Views.endpoint(endpoint(List.of())).contains("Named ports"));
    }
}

package io.septum.source.docker.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.septum.api.NamedPort;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code io.septum.port.<name>=<port>[/<protocol>]} labels; no Docker engine needed. */
class PortLabelsTest {
    @Test
    void portLabelsDeclareNamedPortsAndBadOnesAreLeftOut() {
        Map<String, String> labels = Map.of("app", "web", "io.septum.port.http", "8080/tcp",
                "io.septum.port.dns", "53/udp", "io.septum.port.metrics", "9100",
                "io.septum.port.Bad", "81", "io.septum.port.worse", "eighty");
        assertEquals(List.of(new NamedPort("dns", 53, "UDP"), new NamedPort("http", 8080, "TCP"),
                new NamedPort("metrics", 9100, "TCP")), DockerSource.namedPorts(labels, "web"));
    }
}

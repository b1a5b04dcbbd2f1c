package io.septum.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class NamedPortTest {
    @Test
    void namesFollowIanaSvcName() {
        for (String ok : List.of("http", "serve-80-tcp", "a1", "x", "abcdefghijklmno")) assertNull(NamedPort.nameProblem(ok), ok);
        assertTrue(NamedPort.nameProblem("abcdefghijklmnop").contains("longer than 15"));
        assertTrue(NamedPort.nameProblem("HTTP").contains("lowercase"));
        assertTrue(NamedPort.nameProblem("http_alt").contains("lowercase"));
        assertTrue(NamedPort.nameProblem("8080").contains("at least one letter"));
        assertTrue(NamedPort.nameProblem("-http").contains("start or end"));
        assertTrue(NamedPort.nameProblem("http-").contains("start or end"));
        assertTrue(NamedPort.nameProblem("a--b").contains("\"--\""));
        assertTrue(NamedPort.nameProblem("").contains("empty"));
    }

    @Test
    void parseReadsPortAndProtocol() {
        assertEquals(new NamedPort("http", 8080, "TCP"), NamedPort.parse("http", "8080"));
        assertEquals(new NamedPort("dns", 53, "UDP"), NamedPort.parse("dns", " 53/udp "));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> NamedPort.parse("dns", "53/icmp"))
                .getMessage().contains("\"ICMP\""));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> NamedPort.parse("web", "eighty"))
                .getMessage().contains("PORT/PROTOCOL"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> NamedPort.parse("web", "70000"))
                .getMessage().contains("1-65535"));
    }

    @Test
    void lookupMatchesNameAndProtocol() {
        List<NamedPort> ports = List.of(new NamedPort("dns", 53, "UDP"), new NamedPort("dns", 5353, "TCP"),
                new NamedPort("http", 80, null));
        assertEquals(List.of(new NamedPort("dns", 53, "UDP")), NamedPort.lookup(ports, "dns", "UDP"));
        assertEquals(2, NamedPort.lookup(ports, "dns", null).size(), "protocol ANY takes every declared one");
        assertEquals(List.of(), NamedPort.lookup(ports, "http", "UDP"));
        assertEquals(List.of(), NamedPort.lookup(ports, "metrics", "TCP"));
        assertEquals(List.of(), NamedPort.lookup(null, "http", "TCP"));
    }
}

package io.septum.services.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.service.ServiceSpec;
import io.septum.api.service.ServiceValidationException;
import java.util.List;
import org.junit.jupiter.api.Test;

class ServiceSpecsTest {
    static ServiceSpecs.Valid ok(String frontend, String... backends) throws Exception {
        return ServiceSpecs.validate(new ServiceSpec("deathstar", null, frontend, List.of(backends)));
    }

    static String error(String name, String frontend, String... backends) {
        return assertThrows(ServiceValidationException.class,
                () -> ServiceSpecs.validate(new ServiceSpec(name, null, frontend, List.of(backends)))).getMessage();
    }

    @Test
    void aValidSpecIsNormalised() throws Exception {
        ServiceSpecs.Valid v = ok("10.197.0.10:80", "deathstar-1", "empire/deathstar-2:8080", "10.199.0.5:81");
        assertEquals("default/deathstar", v.qualifiedName());
        assertEquals("10.197.0.10", v.frontendIp());
        assertEquals(80, v.frontendPort());
        assertEquals("TCP", v.protocol());
        assertEquals(new ServiceSpecs.BackendRef("default/deathstar-1", false, 0), v.backends().get(0));
        assertEquals(new ServiceSpecs.BackendRef("empire/deathstar-2", false, 8080), v.backends().get(1));
        assertEquals(new ServiceSpecs.BackendRef("10.199.0.5", true, 81), v.backends().get(2));
        assertEquals("UDP", ok("10.197.0.10:53/udp").protocol());
        assertEquals("TCP", ok("10.197.0.10:80/TCP").protocol());
    }

    @Test
    void everyBadFieldIsNamedWithItsReason() {
        assertEquals("service (unnamed): field name: required", error("", "10.197.0.10:80"));
        assertTrue(error("Death_Star", "10.197.0.10:80").startsWith("service \"Death_Star\": field name: \"Death_Star\" is not a DNS label"));
        assertEquals("service default/deathstar: field frontend: required (IP:PORT or IP:PORT/tcp)", error("deathstar", " "));
        assertEquals("service default/deathstar: field frontend: \"10.197.0.10\" has no port (expected IP:PORT)",
                error("deathstar", "10.197.0.10"));
        assertEquals("service default/deathstar: field frontend: port \"99999\" is not a number in 1-65535",
                error("deathstar", "10.197.0.10:99999"));
        assertEquals("service default/deathstar: field frontend: protocol \"sctp\" is not tcp or udp",
                error("deathstar", "10.197.0.10:80/sctp"));
        assertEquals("service default/deathstar: field frontend: \"10.197.0.300\" is not an IPv4 address (octet 300 > 255)",
                error("deathstar", "10.197.0.300:80"));
        assertTrue(error("deathstar", "[fd00::1]:80").contains("services are IPv4 only"));
        assertTrue(error("deathstar", "127.0.0.1:80").contains("cannot be a virtual IP"));
        assertEquals("service default/deathstar: field backends[1]: \"default/deathstar-1:80\" is listed twice",
                error("deathstar", "10.197.0.10:80", "deathstar-1", "default/deathstar-1:80"));
        assertEquals("service default/deathstar: field backends[0]: port \"x\" is not a number in 1-65535",
                error("deathstar", "10.197.0.10:80", "deathstar-1:x"));
        assertTrue(error("deathstar", "10.197.0.10:80", "a b").contains("is neither an IPv4 address nor an endpoint name"));
        assertTrue(error("deathstar", "10.197.0.10:80", "Bad NS/x").contains("namespace \"Bad NS\""));
    }

    @Test
    void noBackendsIsAllowed() throws Exception {
        assertEquals(List.of(), ok("10.197.0.10:80").backends());
    }
}

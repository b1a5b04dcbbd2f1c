package io.septum.endpoints.internal;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class IpAddressesTest {
    @Test
    void literalsAreCanonicalAndNamesAreRefused() {
        assertEquals("10.199.0.1", IpAddresses.parse("10.199.0.1/24"));
        assertEquals("fd00:199::1", IpAddresses.parse("FD00:0199:0:0:0:0:0:1"));
        assertEquals("::1", IpAddresses.parse("::1"));
        assertEquals("fd00::", IpAddresses.parse("fd00:0:0:0:0:0:0:0"));
        assertEquals("fd00:0:1::2", IpAddresses.parse("fd00:0:1:0:0:0:0:2"));
        assertEquals("1:0:1:0:1:0:1:0", IpAddresses.parse("1:0:1:0:1:0:1:0"), "single zero groups stay");
        assertNull(IpAddresses.parse("example.com"), "never a DNS lookup");
        assertNull(IpAddresses.parse("10.199.0.256"));
        assertNull(IpAddresses.parse("fd00::g"));
        assertNull(IpAddresses.parse(null));
        assertEquals("10.0.0.1/32", IpAddresses.hostPrefix("10.0.0.1"));
        assertEquals("fd00::1/128", IpAddresses.hostPrefix("fd00::1"));
        assertEquals("10.0.0.0/8", IpAddresses.normalizePrefix("10.0.0.0/8"));
        assertEquals("10.0.0.1/32", IpAddresses.normalizePrefix("10.0.0.1"));
        assertTrue(IpAddresses.isLinkLocal("fe80::1"));
        assertTrue(IpAddresses.isLinkLocal("169.254.1.1"));
        assertFalse(IpAddresses.isLinkLocal("fd00::1"));
    }
}

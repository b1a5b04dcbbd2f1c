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

    @Test
    void theHandWrittenV4CheckAcceptsExactlyWhatTheCanonicalPatternDid() {
        java.util.regex.Pattern canonical = java.util.regex.Pattern.compile(
                "((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)");
        java.util.List<String> samples = new java.util.ArrayList<>(java.util.List.of("0.0.0.0", "255.255.255.255",
                "10.0.0.1", "01.2.3.4", "1.2.3.04", "1.2.3.256", "1.2.3", "1.2.3.4.5", "1..3.4", ".1.2.3", "1.2.3.",
                "1.2.3.4 ", "a.b.c.d", "1000.1.1.1", "00.1.1.1", "1.2.3.-4", "", "1.2.3.4/32", "::1", "249.250.199.100"));
        java.util.Random r = new java.util.Random(7);
        String alphabet = "0123456789.";
        for (int i = 0; i < 20_000; i++) {
            StringBuilder b = new StringBuilder();
            for (int j = r.nextInt(16); j > 0; j--) b.append(alphabet.charAt(r.nextInt(alphabet.length())));
            samples.add(b.toString());
        }
        for (int i = 0; i < 2_000; i++) samples.add(r.nextInt(300) + "." + r.nextInt(300) + "." + r.nextInt(300) + "." + r.nextInt(300));
        for (String s : samples) assertEquals(canonical.matcher(s).matches(), IpAddresses.isCanonicalV4(s), s);
    }
}

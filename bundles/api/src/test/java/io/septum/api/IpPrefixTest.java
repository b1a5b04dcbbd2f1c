package io.septum.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class IpPrefixTest {
    @Test
    void parsesAndCanonicalises() {
        assertEquals("10.0.0.0/8", IpPrefix.parse("10.1.2.3/8").toString());
        assertEquals("10.1.2.3/32", IpPrefix.parse("10.1.2.3").toString());
        assertEquals(IpPrefix.parse("fd00::/64"), IpPrefix.parse("fd00:0:0:0:1::/64"));
        assertEquals(128, IpPrefix.parse("::1").bits());
        assertEquals("0.0.0.0/0", IpPrefix.parse("0.0.0.0/0").toString());
        assertTrue(IpPrefix.parse("10.1.0.0/17").contains(IpPrefix.parse("10.1.127.255")));
        assertFalse(IpPrefix.parse("10.1.0.0/17").contains(IpPrefix.parse("10.1.128.0")));
    }

    @Test
    void refusesWhatIsNoAddressWithoutAskingDns() {
        for (String bad : new String[] {"", "localhost", "10.0.0", "10.0.0.256", "10.0.0.1/33", "10.0.0.1/", "10.0.0.1/-1",
                "fd00::/129", "1.2.3.4.5", "01234.1.1.1", "fd00::g", "[::1]"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> IpPrefix.parse(bad), bad);
            assertTrue(e.getMessage().length() > 5, e.getMessage());
        }
    }

    @Test
    void theHandWrittenV4ParserAgreesWithSplitting() {
        java.util.Random r = new java.util.Random(11);
        String alphabet = "0123456789.";
        for (int i = 0; i < 20_000; i++) {
            StringBuilder b = new StringBuilder();
            for (int j = r.nextInt(16) + 1; j > 0; j--) b.append(alphabet.charAt(r.nextInt(alphabet.length())));
            String s = b.toString();
            assertEquals(java.util.Arrays.toString(bySplitting(s)), java.util.Arrays.toString(IpPrefix.literal(s)), s);
        }
        assertEquals("[10, 0, 0, 1]", java.util.Arrays.toString(IpPrefix.literal("010.000.0.1")));
    }

    /** What literal() did before it was written by hand (the reference). */
    private static byte[] bySplitting(String s) {
        String[] parts = s.split("\\.", -1);
        if (parts.length != 4) return null;
        byte[] b = new byte[4];
        for (int i = 0; i < 4; i++) {
            String p = parts[i];
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(c -> c >= '0' && c <= '9')) return null;
            int v = Integer.parseInt(p);
            if (v > 255) return null;
            b[i] = (byte) v;
        }
        return b;
    }

    @Test
    void containmentNeverCrossesFamilies() throws Exception {
        IpPrefix all4 = IpPrefix.parse("0.0.0.0/0");
        assertTrue(all4.contains(InetAddress.getByName("192.0.2.1")));
        assertFalse(all4.contains(InetAddress.getByName("2001:db8::1")));
        assertFalse(IpPrefix.parse("::/0").contains(InetAddress.getByName("192.0.2.1")));
        assertTrue(IpPrefix.parse("2001:db8::/32").contains(InetAddress.getByName("2001:db8:1::5")));
        assertFalse(IpPrefix.parse("10.0.0.0/24").contains(IpPrefix.parse("10.0.0.0/16")));
    }
}

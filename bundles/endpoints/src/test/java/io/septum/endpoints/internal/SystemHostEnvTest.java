package io.septum.endpoints.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The host's interface indexes as sysfs has them (no root needed: the files are world-readable). */
class SystemHostEnvTest {
    private final SystemHostEnv host = new SystemHostEnv();

    @Test
    void readsEveryInterfaceIndexAsSysfsHasIt() throws IOException {
        int compared = 0;
        try (var links = Files.list(Path.of("/sys/class/net"))) {
            for (Path link : links.toList()) {
                // not every entry is an interface (bonding_masters is a file), and another test's link may go
                if (!Files.isRegularFile(link.resolve("ifindex"))) continue;
                int expected, read;
                try {
                    expected = Integer.parseInt(Files.readString(link.resolve("ifindex")).trim());
                    read = host.ifindex(link.getFileName().toString());
                } catch (IOException e) {
                    if (Files.exists(link)) throw e;
                    continue;
                }
                assertEquals(expected, read, link.toString());
                compared++;
            }
        }
        assertTrue(compared >= 1, "at least lo");
        assertEquals(1, host.ifindex("lo"), "the loopback interface is always index 1");
    }

    @Test
    void aMissingInterfaceIsNamedInTheError() {
        IOException e = assertThrows(IOException.class, () -> host.ifindex("septum-none0"));
        assertTrue(e.getMessage().contains("interface septum-none0 does not exist in the host network namespace"),
                e.getMessage());
    }

    @Test
    void aNameThatIsAPathIsRefused() {
        IOException e = assertThrows(IOException.class, () -> host.ifindex("../lo"));
        assertTrue(e.getMessage().contains("is not valid"), e.getMessage());
        assertThrows(IOException.class, () -> host.ifindex(".hidden"));
    }
}

package io.septum.itests.e2e;

import static io.septum.itests.e2e.E2eSupport.exec;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The Debian package as an operator uses it: {@code dpkg -i}, the agent run from the installed tree (its
 * configuration from /etc/septum, its socket in the septum group), a reinstall that keeps an edited conffile, and
 * {@code dpkg --purge} leaving nothing behind. Runs only where no septum package is installed already.
 */
class DebPackageIT {
    private static final Duration DPKG = Duration.ofMinutes(2);

    static Optional<Path> deb() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path dir = p.resolve("distribution/deb/target");
            if (!Files.isDirectory(dir)) continue;
            try (Stream<Path> s = Files.list(dir)) {
                Optional<Path> d = s.filter(f -> f.getFileName().toString().endsWith(".deb")).findFirst();
                if (d.isPresent()) return d;
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        }
        return Optional.empty();
    }

    static boolean installed() {
        E2eSupport.Run r = exec(Duration.ofSeconds(20), List.of("dpkg-query", "-W", "-f=${Status}", "septum"));
        return r.exit() == 0 && r.out().contains("install ok installed");
    }

    @Test
    void installRunReinstallAndPurge() throws Exception {
        boolean required = Boolean.getBoolean("septum.e2e.required");
        Optional<Path> deb = deb();
        if (deb.isEmpty()) {
            if (required) fail("no distribution/deb/target/*.deb: build distribution/deb first (-Dseptum.e2e.required=true)");
            Assumptions.abort("no .deb built");
        }
        if (!"root".equals(System.getProperty("user.name"))) {
            if (required) fail("dpkg -i needs root (-Dseptum.e2e.required=true)");
            Assumptions.abort("dpkg -i needs root");
        }
        // never touch an operator's own installation, packaged or copied by hand
        Assumptions.assumeFalse(installed(), "a septum package is installed on this machine already: not touching it");
        for (String p : List.of("/opt/septum", "/etc/septum", "/var/lib/septum")) {
            Assumptions.assumeFalse(Files.exists(Path.of(p)), p + " exists (an install by hand?): not touching it");
        }
        E2eSupport.Agent agent = null;
        try {
            E2eSupport.Run in = exec(DPKG, List.of("dpkg", "-i", deb.get().toString()));
            assertEquals(0, in.exit(), in.toString());
            assertTrue(Files.isExecutable(Path.of("/opt/septum/bin/septum")));
            assertEquals(Path.of("/opt/septum/bin/septum"), Files.readSymbolicLink(Path.of("/usr/bin/septum")));
            assertEquals(Path.of("/etc/septum"), Files.readSymbolicLink(Path.of("/opt/septum/etc")));
            assertTrue(Files.exists(Path.of("/lib/systemd/system/septum.service")));
            assertEquals(0, exec(Duration.ofSeconds(10), List.of("getent", "group", "septum")).exit(), "the septum group exists");
            assertEquals(0, exec(Duration.ofSeconds(10), List.of("getent", "group", "septum-admin")).exit(),
                    "the septum-admin group (writes through the API) exists");
            String conffiles = exec(Duration.ofSeconds(10), List.of("dpkg-query", "-W", "-f=${Conffiles}", "septum")).out();
            assertTrue(conffiles.contains("/etc/septum/io.septum.cluster.cfg") && conffiles.contains("/etc/septum/io.septum.apiserver.cfg"),
                    "configuration is conffiles: " + conffiles);

            // the agent from the installed tree, with the test's own state, run and pin directories
            agent = E2eSupport.Agent.start(Path.of("/usr/bin/septum"));
            E2eSupport.Run status = exec(Duration.ofSeconds(30), List.of("/usr/bin/septum", "--socket",
                    agent.socket().toString(), "status"));
            assertEquals(0, status.exit(), status.toString());
            assertTrue(status.out().contains("Septum:"), status.out());
            assertEquals("septum", Files.getAttribute(agent.socket(), "posix:group").toString(),
                    "the API socket belongs to the septum group (/etc/septum/io.septum.apiserver.cfg)");
            agent.close();
            agent = null;

            // an operator's edit of a conffile survives a reinstall (an upgrade to the same version)
            Path cfg = Path.of("/etc/septum/io.septum.cluster.cfg");
            Files.writeString(cfg, Files.readString(cfg) + "# edited by the operator\n");
            E2eSupport.Run again = exec(DPKG, List.of("dpkg", "-i", "--force-confold", deb.get().toString()));
            assertEquals(0, again.exit(), again.toString());
            assertTrue(Files.readString(cfg).contains("# edited by the operator"), "conffile kept on upgrade");

            E2eSupport.Run purge = exec(DPKG, List.of("dpkg", "--purge", "septum"));
            assertEquals(0, purge.exit(), purge.toString());
            assertFalse(installed());
            for (String p : List.of("/opt/septum", "/etc/septum", "/usr/bin/septum", "/lib/systemd/system/septum.service")) {
                assertFalse(Files.exists(Path.of(p), java.nio.file.LinkOption.NOFOLLOW_LINKS), p + " is gone");
            }
            assertTrue(exec(Duration.ofSeconds(10), List.of("getent", "group", "septum")).exit() != 0, "the group is gone");
            assertTrue(exec(Duration.ofSeconds(10), List.of("getent", "group", "septum-admin")).exit() != 0,
                    "the admin group is gone");
        } finally {
            if (agent != null) agent.close();
            if (installed()) exec(DPKG, List.of("dpkg", "--purge", "septum"));
        }
    }
}

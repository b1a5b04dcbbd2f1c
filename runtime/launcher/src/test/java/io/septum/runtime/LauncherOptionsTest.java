package io.septum.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LauncherOptionsTest {
    @TempDir
    Path tmp;

    private static LauncherOptions parse(String... args) {
        return LauncherOptions.parse(args);
    }

    @Test
    void defaultsAreTheFhsLocations() {
        LauncherOptions o = parse("--home", "/opt/septum");
        LauncherOptions.Paths p = o.resolve(Map.of(), null);
        assertEquals(Path.of("/opt/septum"), p.home());
        assertEquals(Path.of("/opt/septum/etc"), p.etcDir());
        assertEquals(Path.of("/opt/septum/bundle"), p.bundleDir());
        assertEquals(Path.of("/opt/septum/deploy"), p.deployDir());
        assertEquals(Path.of("/var/lib/septum"), p.stateDir());
        assertEquals(Path.of("/var/lib/septum/felix-cache"), p.frameworkStorage());
        assertEquals(Path.of("/run/septum"), p.runDir());
        assertEquals(Path.of("/run/septum/septum.pid"), p.pidFile());
        assertEquals(Path.of("/sys/fs/bpf/septum"), p.bpfDir());
        assertFalse(o.console);
    }

    @Test
    void everyLocationCanBeMoved() {
        LauncherOptions o = parse("--home", "/h", "--state-dir", "/s", "--run-dir", "/r", "--bpf-dir", "/sys/fs/bpf/x",
                "--console");
        LauncherOptions.Paths p = o.resolve(Map.of("SEPTUM_HOME", "/ignored"), null);
        assertEquals(new LauncherOptions.Paths(Path.of("/h"), Path.of("/h/etc"), Path.of("/s"), Path.of("/r"),
                Path.of("/sys/fs/bpf/x")), p);
        assertTrue(o.console);
    }

    @Test
    void relativeDirectoriesBecomeAbsolute() {
        LauncherOptions.Paths p = parse("--home", "dist/../septum", "--state-dir", "state").resolve(Map.of(), null);
        assertTrue(p.home().isAbsolute());
        assertEquals(Path.of("septum").toAbsolutePath(), p.home());
        assertEquals(Path.of("state").toAbsolutePath(), p.stateDir());
    }

    @Test
    void bothFormsOfAValueAreTaken() {
        LauncherOptions o = parse("--state-dir=/s", "--run-dir", "/r", "--bpf-dir=/sys/fs/bpf/y", "--home=/h");
        assertEquals(new LauncherOptions.Paths(Path.of("/h"), Path.of("/h/etc"), Path.of("/s"), Path.of("/r"),
                Path.of("/sys/fs/bpf/y")), o.resolve(Map.of(), null));
    }

    @Test
    void badLinesAreRefusedNamingTheWord() {
        assertEquals("Unknown option: '--stat-dir'", refused("--stat-dir", "/x"));
        assertEquals("Missing required parameter for option '--run-dir' (DIR)", refused("--run-dir"));
        assertEquals("Missing required parameter for option '--home' (DIR)", refused("--home", "--console"));
        assertEquals("Option '--state-dir' needs a directory, not an empty value", refused("--state-dir="));
        assertEquals("Option '--console' takes no value: '--console=yes'", refused("--console=yes"));
        assertEquals("Unexpected argument: 'start' (the agent takes options only)", refused("start"));
    }

    @Test
    void theStopTimeoutIsWholeSecondsWithinBounds() {
        assertEquals(30, parse().stopTimeoutSeconds);
        assertEquals(50, parse("--stop-timeout", "50").stopTimeoutSeconds);
        assertEquals(5, parse("--stop-timeout=5", "--console").stopTimeoutSeconds);
        assertEquals("Option '--stop-timeout' needs whole seconds from 1 to 3600, not '0'", refused("--stop-timeout=0"));
        assertEquals("Option '--stop-timeout' needs whole seconds from 1 to 3600, not '-5'", refused("--stop-timeout", "-5"));
        assertEquals("Option '--stop-timeout' needs whole seconds from 1 to 3600, not '1.5'", refused("--stop-timeout=1.5"));
        assertEquals("Option '--stop-timeout' needs whole seconds from 1 to 3600, not '86400'", refused("--stop-timeout=86400"));
        assertEquals("Missing required parameter for option '--stop-timeout' (SECONDS)", refused("--stop-timeout"));
        assertEquals("Missing required parameter for option '--stop-timeout' (SECONDS)", refused("--stop-timeout", "--console"));
    }

    private static String refused(String... args) {
        return assertThrows(IllegalArgumentException.class, () -> parse(args)).getMessage();
    }

    @Test
    void helpIsRecognisedAndListsEveryOptionWithItsDefault() {
        assertTrue(parse("--help").help);
        assertTrue(parse("-h").help);
        assertFalse(parse().help);
        String usage = LauncherOptions.usage();
        for (String option : new String[] {"--home=DIR", "--state-dir=DIR", "--run-dir=DIR", "--bpf-dir=DIR", "--stop-timeout=SECONDS", "--console",
                "--help"}) {
            assertTrue(usage.contains(option), option + " missing from\n" + usage);
        }
        assertTrue(usage.contains("Default: /var/lib/septum."), usage);
        assertTrue(usage.contains("Default: /sys/fs/bpf/septum."), usage);
    }

    @Test
    void homeComesFromTheEnvironmentWhenNotGiven() {
        assertEquals(Path.of("/opt/other"), LauncherOptions.resolveHome(null, Map.of("SEPTUM_HOME", "/opt/other"), null));
    }

    @Test
    void homeIsTheParentOfTheLauncherJarsLibDirectory() throws Exception {
        Path lib = Files.createDirectories(tmp.resolve("septum/lib"));
        Path jar = Files.createFile(lib.resolve("septum-launcher-0.1.0.jar"));
        URL location = jar.toUri().toURL();
        assertEquals(tmp.resolve("septum"), LauncherOptions.resolveHome(null, Map.of(), location));
        assertEquals(tmp.resolve("septum"), LauncherOptions.resolveHome(null, Map.of("SEPTUM_HOME", " "), location));
    }

    @Test
    void aClassDirectoryIsNoInstallDirectory() throws Exception {
        URL classes = Files.createDirectories(tmp.resolve("target/classes")).toUri().toURL();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LauncherOptions.resolveHome(null, Map.of(), classes));
        assertTrue(e.getMessage().contains("--home"), e.getMessage());
        assertTrue(e.getMessage().contains("SEPTUM_HOME"), e.getMessage());
    }
}

package io.septum.itests.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The JVM options {@code bin/septum} gives the agent and the CLI, read from a stand-in JDK whose {@code java} prints
 * its arguments: the periodic native-heap trim only where the JDK has it as a product flag (an unknown flag would
 * stop the JVM), the young generation's share, and {@code SEPTUM_JAVA_OPTS} after the script's own.
 */
class LaunchScriptIT {
    private static final String TRIM = "-XX:TrimNativeHeapInterval=2000";

    @TempDir
    Path tmp;

    /** The arguments bin/septum passes to a JDK whose release file says {@code release} (null: it has none). */
    private List<String> javaArgs(String release, Map<String, String> env, String... args) throws Exception {
        Path jdk = Files.createTempDirectory(tmp, "jdk");
        Path bin = Files.createDirectories(jdk.resolve("bin"));
        Path java = bin.resolve("java");
        Files.writeString(java, "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        if (release != null) Files.writeString(jdk.resolve("release"), release);
        List<String> command = new java.util.ArrayList<>(List.of(E2eSupport.septum().toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().put("JAVA_HOME", jdk.toString());
        pb.environment().remove("SEPTUM_JAVA_OPTS");
        pb.environment().putAll(env);
        Process p = pb.redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "bin/septum did not finish");
        assertEquals(0, p.exitValue(), out);
        return out.lines().toList();
    }

    private List<String> agent(String release) throws Exception {
        return javaArgs(release, Map.of(), "agent");
    }

    private static String release(String implementor, String version) {
        return "IMPLEMENTOR=\"" + implementor + "\"\nJAVA_VERSION=\"" + version + "\"\n";
    }

    @Test
    void theNativeHeapTrimOnlyWhereTheJdkHasItAsAProductFlag() throws Exception {
        for (String v : List.of("17.0.11", "17.0.15", "21.0.3", "21.0.9", "22.0.1", "23", "25.0.1")) {
            assertTrue(agent(release("Debian", v)).contains(TRIM), "JDK " + v);
        }
        // before its backport, experimental only (17.0.9, 21.0.1) or absent (18-20): the flag would stop the JVM
        for (String v : List.of("17", "17.0.8", "17.0.10", "18.0.2", "20.0.2", "21", "21.0.2", "22", "1.8.0_392", "21-ea", "")) {
            assertFalse(agent(release("Eclipse Adoptium", v)).contains(TRIM), "JDK '" + v + "'");
        }
        assertFalse(agent(release("Oracle Corporation", "17.0.12")).contains(TRIM), "Oracle's own JDK 17 line");
        assertFalse(agent(null).contains(TRIM), "no release file");
        assertFalse(agent("JAVA_VERSION=garbage\n").contains(TRIM), "a version that is no number");
    }

    @Test
    void theAgentGetsTheSerialCollectorWithAQuarterOfTheHeapYoungAndTheUsersOptionsLast() throws Exception {
        List<String> a = agent(release("Debian", "17.0.15"));
        assertTrue(a.containsAll(List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:NewRatio=3", "-XX:+ExitOnOutOfMemoryError")), a.toString());
        assertEquals("io.septum.runtime.Main", a.get(a.size() - 2));
        assertEquals("agent", a.get(a.size() - 1));

        // a collector chosen by the user replaces the serial one and its tuning; the user's options come after
        List<String> g1 = javaArgs(release("Debian", "17.0.15"), Map.of("SEPTUM_JAVA_OPTS", "-XX:+UseG1GC -Xmx512m"), "agent");
        assertFalse(g1.contains("-XX:+UseSerialGC") || g1.contains("-XX:NewRatio=3"), g1.toString());
        assertTrue(g1.indexOf("-Xmx512m") > g1.indexOf("-Xmx256m"), g1.toString());

        // the CLI: none of the agent's heap tuning, and no trim
        List<String> cli = javaArgs(release("Debian", "17.0.15"), Map.of(), "status");
        assertFalse(cli.contains("-Xmx256m") || cli.contains("-XX:NewRatio=3") || cli.contains(TRIM), cli.toString());
        assertEquals("io.septum.cli.SeptumCli", cli.get(cli.size() - 2));
    }
}

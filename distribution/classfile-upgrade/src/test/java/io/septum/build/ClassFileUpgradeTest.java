package io.septum.build;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.jar.JarEntry;
import java.util.jar.JarInputStream;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ClassFileUpgradeTest {
    @TempDir
    Path dir;

    private Path picocliCopy() throws Exception {
        Path jar = Path.of(CommandLine.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path copy = dir.resolve(jar.getFileName());
        Files.copy(jar, copy);
        return copy;
    }

    @Test
    void picocliIsJava5AndComesOutJava8AndVerified() throws Exception {
        Path jar = picocliCopy();
        Files.setPosixFilePermissions(jar, PosixFilePermissions.fromString("rw-r--r--"));
        Path original = Files.createDirectories(dir.resolve("orig")).resolve("picocli.jar");
        Files.copy(jar, original);
        assertEquals(49, major(jar, "picocli/CommandLine.class"), "the fixture: picocli ships Java 5 class files");
        int old = ClassFileUpgrade.oldClasses(jar);
        assertTrue(old > 100, "picocli's old classes: " + old);

        assertEquals(old, ClassFileUpgrade.upgradeInPlace(jar));
        assertEquals(0, ClassFileUpgrade.oldClasses(jar));
        assertEquals(52, major(jar, "picocli/CommandLine.class"));
        assertEquals(0, ClassFileUpgrade.upgradeInPlace(jar), "a second run has nothing to do");

        // The upgraded classes pass the type-checking verifier (application class loaders verify by default) and do
        // what the originals do: the same usage message for the same command, and the same parse.
        assertEquals(run(original), run(jar));
        // every class of it links and passes the verifier (loaded and initialised, in a loader that verifies)
        int linked = 0;
        try (URLClassLoader l = new URLClassLoader(new URL[] {jar.toUri().toURL()}, ClassLoader.getPlatformClassLoader());
             JarInputStream in = new JarInputStream(Files.newInputStream(jar))) {
            for (JarEntry e; (e = in.getNextJarEntry()) != null; ) {
                String n = e.getName();
                if (!n.endsWith(".class") || n.startsWith("META-INF/")) continue;
                Class.forName(n.substring(0, n.length() - 6).replace('/', '.'), true, l);
                linked++;
            }
        }
        assertEquals(old, linked);
        assertEquals(PosixFilePermissions.fromString("rw-r--r--"), Files.getPosixFilePermissions(jar), "the jar's mode is kept");
    }

    /** Parses {@code -h status} with picocli's own annotated help command, loaded from the jar, then prints its usage. */
    private static String run(Path jar) throws Exception {
        try (URLClassLoader l = new URLClassLoader(new URL[] {jar.toUri().toURL()}, ClassLoader.getPlatformClassLoader())) {
            Class<?> cl = Class.forName("picocli.CommandLine", true, l);
            Object help = Class.forName("picocli.CommandLine$HelpCommand", true, l).getConstructor().newInstance();
            Object cmd = cl.getConstructor(Object.class).newInstance(help);
            Object parsed = cl.getMethod("parseArgs", String[].class).invoke(cmd, (Object) new String[] {"-h", "status"});
            Class<?> result = Class.forName("picocli.CommandLine$ParseResult", true, l);
            boolean h = (Boolean) result.getMethod("hasMatchedOption", String.class).invoke(parsed, "-h");
            Object positionals = result.getMethod("matchedPositionalValue", int.class, Object.class).invoke(parsed, 0, null);
            return h + " " + positionals + "\n" + cl.getMethod("getUsageMessage").invoke(cmd);
        }
    }

    /** The major version of one entry of a jar, -1 when the jar has no such entry. */
    private static int major(Path jar, String entry) throws Exception {
        try (JarInputStream in = new JarInputStream(Files.newInputStream(jar))) {
            for (JarEntry e; (e = in.getNextJarEntry()) != null; ) {
                if (e.getName().equals(entry)) return ClassFileUpgrade.major(in.readAllBytes());
            }
            return -1;
        }
    }

    @Test
    void aJarOfNewerClassesIsLeftAlone() throws Exception {
        Path jar = dir.resolve("new.jar");
        byte[] own;
        try (var in = ClassFileUpgrade.class.getResourceAsStream("ClassFileUpgrade.class")) {
            own = in.readAllBytes();
        }
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            out.putNextEntry(new JarEntry("io/septum/build/ClassFileUpgrade.class"));
            out.write(own);
            out.closeEntry();
        }
        byte[] before = Files.readAllBytes(jar);
        assertEquals(0, ClassFileUpgrade.upgradeInPlace(jar));
        assertArrayEquals(before, Files.readAllBytes(jar));
    }

    @Test
    void aSignedJarIsRefusedAndLeftAsItWas() throws Exception {
        Path jar = dir.resolve("signed.jar");
        byte[] old = new byte[] {(byte) 0xca, (byte) 0xfe, (byte) 0xba, (byte) 0xbe, 0, 0, 0, 49};
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            out.putNextEntry(new JarEntry("META-INF/SIGNER.SF"));
            out.write("Signature-Version: 1.0\n".getBytes());
            out.closeEntry();
            out.putNextEntry(new JarEntry("a/Old.class"));
            out.write(old);
            out.closeEntry();
        }
        byte[] before = Files.readAllBytes(jar);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClassFileUpgrade.upgradeInPlace(jar));
        assertTrue(e.getMessage().contains("signed.jar is signed (META-INF/SIGNER.SF)"), e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(jar));
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no partial file left beside it");
        }
    }
}

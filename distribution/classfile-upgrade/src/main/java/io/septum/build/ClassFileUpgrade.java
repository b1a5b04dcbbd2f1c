package io.septum.build;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.jar.JarEntry;
import java.util.jar.JarInputStream;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Opcodes;

/**
 * Re-emits the class files of a jar that are older than Java 6 (major version below 50) as Java 8 class files, with
 * the stack map frames the type-checking verifier needs computed. The code is unchanged.
 *
 * <p>Why: the JDK 17 class-data archive refuses such classes ("Pre JDK 6 class not supported by CDS"), so a jar built
 * for Java 5 (picocli is) is loaded, parsed and verified from the jar on every run of the CLI, however the archive
 * was trained. Run over the distribution's {@code lib/} before the archive is made.
 *
 * <p>{@code ClassFileUpgrade DIR|JAR...}: every jar named, or every {@code *.jar} in a directory named, that holds
 * such classes is replaced (atomically) by its upgraded copy; others are left alone. A signed jar is refused, since
 * changing its bytes would break its signature. Exit status 0, or 1 with the reason on stderr.
 */
public final class ClassFileUpgrade {
    /** The first class-file version the JDK 17 class-data archive takes. */
    static final int JAVA_6 = 50;

    private ClassFileUpgrade() {
    }

    public static void main(String[] args) {
        if (args.length == 0) {
            System.err.println("usage: ClassFileUpgrade DIR|JAR...");
            System.exit(2);
        }
        try {
            for (String a : args) {
                for (Path jar : jars(Path.of(a))) {
                    int n = upgradeInPlace(jar);
                    if (n > 0) System.out.println("classfile-upgrade: " + jar.getFileName() + ": " + n + " class files re-emitted as Java 8");
                }
            }
        } catch (IOException | RuntimeException e) {
            System.err.println("classfile-upgrade: " + e.getMessage());
            System.exit(1);
        }
    }

    private static List<Path> jars(Path p) throws IOException {
        if (!Files.isDirectory(p)) return List.of(p);
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(p, "*.jar")) {
            ds.forEach(out::add);
        }
        out.sort(null);
        return out;
    }

    /** Upgrades {@code jar} where it lies; the number of class files re-emitted (0: the file is untouched). */
    static int upgradeInPlace(Path jar) throws IOException {
        if (oldClasses(jar) == 0) return 0;
        Path tmp = Files.createTempFile(jar.toAbsolutePath().getParent(), jar.getFileName().toString(), ".part");
        try {
            int n = upgrade(jar, tmp);
            // a temp file is 0600: the jar keeps the mode it had (a CLI run by another user must read it)
            Files.setPosixFilePermissions(tmp, Files.getPosixFilePermissions(jar));
            Files.move(tmp, jar, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return n;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** How many class files of {@code jar} are older than Java 6. */
    static int oldClasses(Path jar) throws IOException {
        int n = 0;
        try (JarInputStream in = new JarInputStream(Files.newInputStream(jar))) {
            for (JarEntry e; (e = in.getNextJarEntry()) != null; ) {
                if (isClass(e) && major(in.readAllBytes()) < JAVA_6) n++;
            }
        }
        return n;
    }

    /**
     * Writes {@code in} to {@code out} with its old class files re-emitted; every other entry (the manifest first, as
     * a jar needs it) is copied as it is. The number of class files re-emitted.
     */
    static int upgrade(Path in, Path out) throws IOException {
        int n = 0;
        try (URLClassLoader types = new URLClassLoader(new URL[] {in.toUri().toURL()}, ClassLoader.getPlatformClassLoader());
             JarInputStream jin = new JarInputStream(Files.newInputStream(in))) {
            Manifest mf = jin.getManifest();
            try (OutputStream os = Files.newOutputStream(out);
                 JarOutputStream jout = mf == null ? new JarOutputStream(os) : new JarOutputStream(os, mf)) {
                for (JarEntry e; (e = jin.getNextJarEntry()) != null; ) {
                    String name = e.getName().toUpperCase(Locale.ROOT);
                    if (name.startsWith("META-INF/") && (name.endsWith(".SF") || name.endsWith(".RSA") || name.endsWith(".DSA") || name.endsWith(".EC"))) {
                        throw new IllegalArgumentException(in.getFileName() + " is signed (" + e.getName() + "): its class files cannot be re-emitted");
                    }
                    byte[] b = jin.readAllBytes();
                    if (isClass(e) && major(b) < JAVA_6) {
                        b = reemit(b, types, e.getName());
                        n++;
                    }
                    JarEntry o = new JarEntry(e.getName());
                    if (e.getTime() != -1) o.setTime(e.getTime());
                    jout.putNextEntry(o);
                    jout.write(b);
                    jout.closeEntry();
                }
            }
        }
        return n;
    }

    /** One class file as Java 8, frames computed with {@code types} (the jar's own classes, then the JDK's). */
    static byte[] reemit(byte[] classFile, ClassLoader types, String entry) {
        ClassReader r = new ClassReader(classFile);
        ClassWriter w = new ClassWriter(ClassWriter.COMPUTE_FRAMES) {
            @Override
            protected ClassLoader getClassLoader() {
                return types;
            }
        };
        try {
            r.accept(new ClassVisitor(Opcodes.ASM9, w) {
                @Override
                public void visit(int version, int access, String name, String signature, String superName, String[] interfaces) {
                    super.visit(Opcodes.V1_8, access, name, signature, superName, interfaces);
                }
            }, ClassReader.SKIP_FRAMES);
        } catch (RuntimeException e) {
            // JSR/RET (not allowed from Java 7 on) or a type the frames need that is in neither the jar nor the JDK
            throw new IllegalArgumentException(entry + ": cannot be re-emitted: " + e, e);
        }
        return w.toByteArray();
    }

    private static boolean isClass(JarEntry e) {
        return !e.isDirectory() && e.getName().endsWith(".class") && !e.getName().endsWith("module-info.class");
    }

    /** The class file's major version (bytes 6 and 7). */
    static int major(byte[] classFile) {
        if (classFile.length < 8) throw new IllegalArgumentException("not a class file (" + classFile.length + " bytes)");
        return ((classFile[6] & 0xff) << 8) | (classFile[7] & 0xff);
    }
}

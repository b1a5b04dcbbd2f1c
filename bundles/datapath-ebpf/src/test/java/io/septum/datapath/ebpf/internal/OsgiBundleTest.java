package io.septum.datapath.ebpf.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.HealthReporter;
import io.septum.api.datapath.Datapath;
import io.septum.testsupport.RequiresRoot;
import io.septum.testsupport.TestFiles;
import java.io.File;
import java.io.FileInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.jar.Manifest;
import org.apache.felix.framework.FrameworkFactory;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.launch.Framework;

/** The bundle as the agent runs it: manifest imports kept tight, and it resolves and loads in plain Felix with SCR. */
class OsgiBundleTest {
    private static final Path CLASSES = Path.of("target/classes");

    @Test
    void importsOnlyTheApiOsgiAndTheJdk() throws Exception {
        Manifest mf;
        try (FileInputStream in = new FileInputStream(CLASSES.resolve("META-INF/MANIFEST.MF").toFile())) {
            mf = new Manifest(in);
        }
        String imports = mf.getMainAttributes().getValue("Import-Package");
        Set<String> unexpected = new TreeSet<>();
        for (String clause : imports.split(",(?=[a-z])")) {
            String pkg = clause.split(";")[0].trim();
            boolean ok = pkg.startsWith("java.") || pkg.startsWith("io.septum.api") || pkg.startsWith("org.osgi.framework")
                    || (pkg.equals("sun.misc") && clause.contains("resolution:=optional"));
            if (!ok) unexpected.add(clause);
        }
        assertTrue(unexpected.isEmpty(), "unexpected imports: " + unexpected);
        assertTrue(!imports.contains("java.lang.ref.Cleaner"), "java.lang.ref.Cleaner is a class, not a package");
        String cp = mf.getMainAttributes().getValue("Bundle-ClassPath");
        for (String lib : List.of("jnr-ffi", "jffi", "jffi-native", "asm", "jnr-x86asm", "jnr-a64asm")) {
            assertTrue(cp.contains("lib/" + lib + ".jar"), lib + " embedded: " + cp);
        }
        assertEquals("OSGI-INF/io.septum.datapath.xml", mf.getMainAttributes().getValue("Service-Component"));
    }

    @Test
    @RequiresRoot("bpffs")
    void resolvesAndLoadsInPlainFelixWithScr() throws Exception {
        Path storage = Files.createTempDirectory("sept-t-felix");
        Path pins = Path.of("/sys/fs/bpf/sept-t" + String.format("%04x", ThreadLocalRandom.current().nextInt(0x10000)) + "-osgi");
        Map<String, String> cfg = new HashMap<>();
        cfg.put(Constants.FRAMEWORK_STORAGE, storage.toString());
        cfg.put(Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT);
        cfg.put("septum.bpf.dir", pins.toString());
        Framework fw = new FrameworkFactory().newFramework(cfg);
        try {
            fw.start();
            BundleContext ctx = fw.getBundleContext();
            List<Bundle> bundles = new ArrayList<>();
            for (String jar : List.of("org.osgi.util.function", "org.osgi.util.promise", "org.osgi.service.component",
                    "org.apache.felix.scr",
                    "jackson-annotations", "septum-api")) {
                bundles.add(ctx.installBundle(new File(classpathJar(jar)).toURI().toString()));
            }
            Bundle ours = ctx.installBundle("reference:" + CLASSES.toAbsolutePath().toUri());
            bundles.add(ours);
            for (Bundle b : bundles) b.start();
            assertEquals(Bundle.ACTIVE, ours.getState());

            // the framework's classes are not the test's classes: look services up by name, call them reflectively
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            String state = null, message = null;
            boolean datapathRegistered = false;
            while (System.nanoTime() < end) {
                ServiceReference<?>[] refs = ctx.getAllServiceReferences(HealthReporter.class.getName(), null);
                datapathRegistered = ctx.getAllServiceReferences(Datapath.class.getName(), null) != null;
                if (refs != null && datapathRegistered) {
                    Object service = ctx.getService(refs[0]);
                    Object status = service.getClass().getMethod("health").invoke(service);
                    state = (String) status.getClass().getMethod("state").invoke(status);
                    message = (String) status.getClass().getMethod("message").invoke(status);
                    if (!"degraded".equals(state)) break;
                }
                TimeUnit.MILLISECONDS.sleep(50); // poll interval
            }
            assertTrue(datapathRegistered, "Datapath service registered");
            assertEquals("ok", state, message);
            assertTrue(Files.exists(pins.resolve("septum_policy")), "maps pinned under septum.bpf.dir");
        } finally {
            fw.stop();
            fw.waitForStop(10_000);
            TestFiles.deleteTree(pins);
            TestFiles.deleteTree(storage);
        }
    }

    private static String classpathJar(String artifact) {
        return Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(p -> new File(p).getName().matches(java.util.regex.Pattern.quote(artifact) + "-\\d.*\\.jar"))
                .findFirst().orElseThrow(() -> new IllegalStateException(artifact + " not on the test class path"));
    }
}

package io.septum.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Arrays;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Bundle;
import org.osgi.framework.launch.Framework;

/** Restarts of the real launcher on one state directory: the bundle cache is kept, and follows bundle/. */
class BundleCacheTest {
    @TempDir
    Path tmp;
    private Launcher launcher;

    @AfterEach
    void stop() {
        if (launcher != null) {
            launcher.requestStop("test end");
            launcher.awaitStop();
            launcher = null;
        }
    }

    private LauncherOptions.Paths tree() throws IOException {
        return LauncherRunTest.tree(tmp);
    }

    /** An install tree with bundles {@code t.<name>} 1.0 in {@code bundle/<name>.jar}, started once and stopped in order. */
    private LauncherOptions.Paths startedOnce(String... names) throws Exception {
        LauncherOptions.Paths p = tree();
        for (String n : names) writeBundle(p.bundleDir().resolve(n + ".jar"), "t." + n, "1.0");
        start(p);
        restartPause();
        return p;
    }

    private Framework start(LauncherOptions.Paths p) throws Exception {
        launcher = new Launcher(p, false, System.currentTimeMillis(), Map.of(Launcher.LOCK_DIR_ENV, tmp.resolve("locks").toString()));
        return launcher.start();
    }

    private void restartPause() throws InterruptedException {
        stop();
        Thread.sleep(20); // a bundle installed again gets a later install time than the one it replaces
    }

    private static Bundle bundle(Framework fw, String name) {
        return Arrays.stream(fw.getBundleContext().getBundles()).filter(b -> name.equals(b.getSymbolicName()))
                .findFirst().orElse(null);
    }

    static void writeBundle(Path jar, String name, String version) throws IOException {
        Manifest mf = new Manifest();
        Attributes a = mf.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Bundle-ManifestVersion", "2");
        a.putValue("Bundle-SymbolicName", name);
        a.putValue("Bundle-Version", version);
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar), mf)) {
            out.flush();
        }
    }

    @Test
    void aRestartKeepsTheBundlesAndFollowsWhatChangedInBundleDir() throws Exception {
        LauncherOptions.Paths p = tree();
        Path a = p.bundleDir().resolve("a.jar");
        Path b = p.bundleDir().resolve("b.jar");
        writeBundle(a, "t.a", "1.0");
        writeBundle(b, "t.b", "1.0");
        Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere")).resolve("x.jar");
        writeBundle(elsewhere, "t.x", "1.0");

        Framework fw = start(p);
        Bundle a1 = bundle(fw, "t.a");
        Bundle b1 = bundle(fw, "t.b");
        assertEquals(Bundle.ACTIVE, a1.getState());
        long aInstalled = a1.getLastModified();
        long bInstalled = b1.getLastModified();
        // what a restart used to drop must still go: a bundle installed by hand, and data kept in the cache
        fw.getBundleContext().installBundle(elsewhere.toUri().toString());
        Files.writeString(b1.getDataFile("note").toPath(), "from the first start");
        Path index = new BundleCache(p.frameworkStorage()).index();
        assertFalse(Files.exists(index), "no index while the agent runs: a crash leaves none");
        restartPause();
        assertTrue(Files.isRegularFile(index), "the index is written at an orderly stop");

        fw = start(p);
        Bundle a2 = bundle(fw, "t.a");
        Bundle b2 = bundle(fw, "t.b");
        assertEquals(aInstalled, a2.getLastModified(), "kept, not installed again");
        assertEquals(bInstalled, b2.getLastModified(), "kept, not installed again");
        assertEquals(a1.getBundleId(), a2.getBundleId());
        assertEquals(Bundle.ACTIVE, a2.getState());
        assertNull(bundle(fw, "t.x"), "a bundle that did not come from bundle/ is not kept");
        assertFalse(b2.getDataFile("note").exists(), "the bundles' data areas are emptied");
        restartPause();

        // a.jar replaced by another of the same size, its modification time set back; b.jar removed; c.jar added
        FileTime aTime = Files.getLastModifiedTime(a);
        writeBundle(a, "t.a", "2.0");
        Files.setLastModifiedTime(a, aTime);
        Files.delete(b);
        writeBundle(p.bundleDir().resolve("c.jar"), "t.c", "1.0");
        fw = start(p);
        Bundle a3 = bundle(fw, "t.a");
        assertEquals("2.0.0", a3.getVersion().toString(), "updated from the changed jar");
        assertEquals(a1.getBundleId(), a3.getBundleId(), "updated in place");
        assertEquals(Bundle.ACTIVE, a3.getState());
        assertNull(bundle(fw, "t.b"), "its jar is gone");
        assertEquals(Bundle.ACTIVE, bundle(fw, "t.c").getState());
        long a3Installed = a3.getLastModified();
        restartPause();

        // no index (a crash, a kill, or removed by hand): an empty cache, everything installed afresh
        Files.delete(index);
        fw = start(p);
        assertNotEquals(a3Installed, bundle(fw, "t.a").getLastModified(), "installed again");
        assertEquals("2.0.0", bundle(fw, "t.a").getVersion().toString());
        assertEquals(2, fw.getBundleContext().getBundles().length - 1, "t.a and t.c");
    }

    @Test
    void whatWasChangedAtRunTimeDoesNotSurviveARestart() throws Exception {
        LauncherOptions.Paths p = tree();
        writeBundle(p.bundleDir().resolve("a.jar"), "t.a", "1.0");
        Path other = Files.createDirectories(tmp.resolve("elsewhere")).resolve("a-2.jar");
        writeBundle(other, "t.a", "2.0");
        Framework fw = start(p);
        Bundle a = bundle(fw, "t.a");
        int initial = a.adapt(org.osgi.framework.startlevel.BundleStartLevel.class).getStartLevel();
        // as the shell's update and bundlelevel commands do
        try (var in = Files.newInputStream(other)) {
            a.update(in);
        }
        a.adapt(org.osgi.framework.startlevel.BundleStartLevel.class).setStartLevel(initial + 5);
        assertEquals("2.0.0", a.getVersion().toString());
        restartPause();

        a = bundle(start(p), "t.a");
        assertEquals("1.0.0", a.getVersion().toString(), "bundle/ holds 1.0: updated back from it");
        assertEquals(initial, a.adapt(org.osgi.framework.startlevel.BundleStartLevel.class).getStartLevel());
        a.adapt(org.osgi.framework.startlevel.BundleStartLevel.class).setStartLevel(initial + 5);
        long installed = a.getLastModified();
        restartPause();

        a = bundle(start(p), "t.a");
        assertEquals(installed, a.getLastModified(), "kept");
        assertEquals(initial, a.adapt(org.osgi.framework.startlevel.BundleStartLevel.class).getStartLevel(),
                "a kept bundle gets the initial start level again");
    }

    @Test
    void aJarRenamedInBundleDirIsStillInstalled() throws Exception {
        LauncherOptions.Paths p = startedOnce("a");
        // same symbolic name and version under another name: Felix refuses a second copy, so the old one goes first
        Files.move(p.bundleDir().resolve("a.jar"), p.bundleDir().resolve("a-renamed.jar"));
        Bundle a = bundle(start(p), "t.a");
        assertEquals(Bundle.ACTIVE, a.getState());
        assertTrue(a.getLocation().endsWith("/a-renamed.jar"), a.getLocation());
    }

    @Test
    void aCachedBundleWhoseJarCanNoLongerBeInstalledDoesNotRun() throws Exception {
        LauncherOptions.Paths p = startedOnce("a", "b");
        writeBundle(p.bundleDir().resolve("a.jar"), "t.a", "not-a-version"); // the update fails
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(p.bundleDir().resolve("b.jar")))) {
            out.flush(); // a jar without a manifest: not a bundle any more
        }
        Framework fw = start(p);
        assertNull(bundle(fw, "t.a"), "the cached 1.0 must not run in place of what bundle/ holds");
        assertNull(bundle(fw, "t.b"));
    }

    @Test
    void aCacheFelixCannotOpenIsReplacedByAnEmptyOne() throws Exception {
        LauncherOptions.Paths p = startedOnce("a");
        assertTrue(Files.exists(new BundleCache(p.frameworkStorage()).index()));
        // the cache directory replaced by a file: Felix cannot open it
        try (var s = Files.walk(p.frameworkStorage())) {
            for (Path f : (Iterable<Path>) s.sorted(java.util.Comparator.reverseOrder())::iterator) Files.delete(f);
        }
        Files.writeString(p.frameworkStorage(), "not a directory");
        Framework fw = start(p);
        assertEquals(Bundle.ACTIVE, bundle(fw, "t.a").getState());
        assertTrue(Files.isDirectory(p.frameworkStorage()));
    }

    @Test
    void anOperatorMayAskForAnEmptyCacheOnEveryStart() throws Exception {
        LauncherOptions.Paths p = tree();
        writeBundle(p.bundleDir().resolve("a.jar"), "t.a", "1.0");
        Files.writeString(p.etcDir().resolve("framework.properties"), "org.osgi.framework.storage.clean=onFirstInit\n");
        long first = bundle(start(p), "t.a").getLastModified();
        restartPause();
        assertNotEquals(first, bundle(start(p), "t.a").getLastModified(), "installed again");
    }

    @Test
    void aDamagedBundleInTheCacheIsInstalledAgain() throws Exception {
        LauncherOptions.Paths p = tree();
        writeBundle(p.bundleDir().resolve("a.jar"), "t.a", "1.0");
        long first = bundle(start(p), "t.a").getLastModified();
        restartPause();
        // the cache's own record of the bundle damaged: its revision directory gone
        try (var s = Files.walk(p.frameworkStorage())) {
            for (Path f : (Iterable<Path>) s.filter(f -> f.getFileName().toString().equals("bundle.jar"))::iterator) {
                Files.delete(f);
            }
        }
        Framework fw = start(p);
        Bundle a = bundle(fw, "t.a");
        assertEquals(Bundle.ACTIVE, a.getState(), "installed from bundle/ again");
        assertNotEquals(first, a.getLastModified());
    }
}

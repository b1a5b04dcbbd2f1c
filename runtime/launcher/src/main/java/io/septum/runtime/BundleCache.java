package io.septum.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.jar.JarFile;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.startlevel.BundleStartLevel;
import org.osgi.framework.startlevel.FrameworkStartLevel;

/**
 * Felix's bundle cache, kept from one start to the next and brought in step with {@code bundle/}: a restart reuses
 * the installed bundles (Felix neither copies the jars again nor extracts their native code) instead of emptying the
 * cache and installing every jar afresh.
 *
 * <p>What may cross a restart is only what {@code bundle/} holds now. A cached bundle is kept as it is only when its
 * jar has the fingerprint (size, modification and change times, inode) recorded when it was installed from that
 * jar, and the bundle itself was not changed since (its install or update time, which an update at run time, from
 * the shell say, moves). One whose jar changed is updated from it, one whose jar is gone is uninstalled, and so is
 * every bundle that did not come from {@code bundle/} (FileInstall installs {@code deploy/} afresh on each start, as
 * with an empty cache). Kept bundles get the initial start level again. The bundles' data areas are emptied
 * (ConfigAdmin keeps the configurations of {@code etc/} there; they are read afresh from {@code etc/}).
 *
 * <p>The record of fingerprints (the index, beside the cache) is removed at start and written only after an orderly
 * stop, once every file of the cache has been forced to disk: a start after a crash, a kill or a power loss, or
 * without a readable index, starts from an empty cache, as every start did before. So a file the framework was still
 * writing (a jar it extracts from a bundle on first use) is never taken from a cache whose writer did not finish.
 */
final class BundleCache {
    private static final Logger LOG = Logger.getLogger(BundleCache.class.getName());

    /** {@link Constants#FRAMEWORK_STORAGE_CLEAN}'s value for keeping the cache (any but {@code onFirstInit}). */
    static final String KEEP = "none";

    private final Path storage;
    private final Path index;
    /** Location to fingerprint, as recorded by the last start that brought the cache in step; empty when starting clean. */
    private Map<String, String> known = Map.of();
    /** What this start's {@link #sync} installed, for the index written at an orderly stop; null before it. */
    private Map<String, String> current;

    BundleCache(Path storage) {
        this.storage = storage;
        this.index = storage.resolveSibling(storage.getFileName() + ".index");
    }

    Path index() {
        return index;
    }

    /**
     * Prepares the cache for this start and returns the value of {@link Constants#FRAMEWORK_STORAGE_CLEAN} to open it
     * with: {@code none} to keep it, {@code onFirstInit} to start from an empty one (no index, or one that cannot be
     * read, or {@code keep} false).
     */
    String open(boolean keep) {
        known = keep ? readIndex() : Map.of();
        try {
            // durably: after a power loss during this start, an old index must not come back beside a changed cache
            if (Files.deleteIfExists(index)) forceDirectory(index.toAbsolutePath().getParent());
        } catch (IOException e) {
            LOG.warning(() -> "cannot remove " + index + " (" + e.getMessage() + "): starting from an empty bundle cache");
            known = Map.of();
        }
        if (known.isEmpty()) return Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT;
        try {
            dropDataAreas();
        } catch (IOException e) {
            LOG.warning(() -> "cannot empty the bundles' data areas in " + storage + " (" + e.getMessage()
                    + "): starting from an empty bundle cache");
            known = Map.of();
            return Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT;
        }
        return KEEP;
    }

    /**
     * After a failed open of the kept cache: removes it (whatever is at its path, which Felix's own cleaning may not
     * remove, a file say), and the next {@link #sync} installs everything into an empty one.
     */
    String reset() {
        known = Map.of();
        try {
            deleteTree(storage);
        } catch (IOException e) {
            LOG.warning(() -> "cannot remove the bundle cache " + storage + ": " + e.getMessage());
        }
        return Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT;
    }

    private Map<String, String> readIndex() {
        if (!Files.isRegularFile(index)) return Map.of();
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(index, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException | IllegalArgumentException e) {
            LOG.warning(() -> "cannot read " + index + " (" + e.getMessage() + "): starting from an empty bundle cache");
            return Map.of();
        }
        Map<String, String> m = new HashMap<>();
        for (String k : p.stringPropertyNames()) m.put(k, p.getProperty(k));
        return m;
    }

    private void dropDataAreas() throws IOException {
        if (!Files.isDirectory(storage)) return;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(storage, "bundle*")) {
            for (Path b : ds) deleteTree(b.resolve("data"));
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) Files.delete(p);
        } catch (UncheckedIOException e) {
            throw e.getCause(); // what the walk met on its way (a directory it may not read, an entry gone)
        }
    }

    /**
     * Brings the framework's bundles in step with {@code jars} (installed, kept, updated, uninstalled as the class
     * says); returns the bundles of {@code jars}, in their order. A jar that cannot be installed is logged and left
     * out, as is one that is not a bundle.
     */
    List<Bundle> sync(BundleContext ctx, List<Path> jars) {
        Map<String, Path> wanted = new HashMap<>();
        for (Path jar : jars) wanted.put(jar.toUri().toString(), jar);
        Map<String, Bundle> cached = new HashMap<>();
        int removed = 0;
        // what is not wanted goes first: a jar renamed, or moved here from deploy/, has the same symbolic name and
        // version, which Felix refuses to install twice
        for (Bundle b : ctx.getBundles()) {
            if (b.getBundleId() == 0) continue;
            if (wanted.containsKey(b.getLocation())) {
                cached.put(b.getLocation(), b);
            } else if (uninstall(b)) {
                removed++;
            }
        }
        int initialLevel = ctx.getBundle(0).adapt(FrameworkStartLevel.class).getInitialBundleStartLevel();
        Map<String, String> now = new HashMap<>();
        List<Bundle> out = new ArrayList<>();
        int kept = 0;
        int updated = 0;
        int installed = 0;
        for (Path jar : jars) {
            String location = jar.toUri().toString();
            Bundle b = cached.get(location);
            try {
                String fp = fingerprint(jar);
                if (b != null) {
                    // as a fresh install would have it, whatever the shell set during an earlier run
                    BundleStartLevel level = b.adapt(BundleStartLevel.class);
                    if (level.getStartLevel() != initialLevel) level.setStartLevel(initialLevel);
                }
                if (b != null && (fp + " " + b.getLastModified()).equals(known.get(location))) {
                    kept++;
                } else if (!isBundle(jar)) {
                    LOG.warning(() -> "skipping " + jar + ": not an OSGi bundle (no Bundle-SymbolicName)");
                    if (b != null) uninstall(b);
                    continue;
                } else if (b != null) {
                    try (InputStream in = Files.newInputStream(jar)) {
                        b.update(in);
                    }
                    updated++;
                } else {
                    try (InputStream in = Files.newInputStream(jar)) {
                        b = ctx.installBundle(location, in);
                    }
                    installed++;
                }
                out.add(b);
                now.put(location, fp + " " + b.getLastModified());
            } catch (IOException | BundleException | IllegalStateException e) {
                LOG.log(Level.SEVERE, "cannot install " + jar + ": " + e.getMessage(), e);
                // a cached copy of what bundle/ no longer holds must not run in its place
                if (b != null) uninstall(b);
            }
        }
        current = now;
        LOG.info("bundle cache: " + kept + " kept, " + updated + " updated, " + installed + " installed, "
                + removed + " removed");
        return out;
    }

    private static boolean uninstall(Bundle b) {
        try {
            b.stop(); // not started by fw.start() from the last run's record, should the uninstall fail
        } catch (BundleException | IllegalStateException e) {
            // uninstalled already, or a fragment
        }
        try {
            b.uninstall();
            return true;
        } catch (BundleException | IllegalStateException e) {
            LOG.warning(() -> "cannot uninstall " + b.getLocation() + " from the bundle cache: " + e.getMessage());
            return false;
        }
    }

    /**
     * After an orderly stop of the framework: forces every file of the cache to disk, then writes the index (also
     * forced), so that the next start may keep the cache. Nothing when this start did not bring the cache in step.
     */
    void stopped() {
        Map<String, String> fingerprints = current;
        if (fingerprints == null) return;
        try {
            forceTree(storage.toRealPath());
        } catch (IOException | RuntimeException e) {
            LOG.warning(() -> "cannot force the bundle cache " + storage + " to disk (" + e.getMessage()
                    + "): the next start installs every bundle afresh");
            return;
        }
        writeIndex(fingerprints);
    }

    /** Every file and directory under {@code dir} forced to disk, but the bundles' data areas (emptied at the next open). */
    private static void forceTree(Path dir) throws IOException {
        List<Path> dirs = new ArrayList<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path rel = dir.relativize(p);
                if (rel.getNameCount() >= 2 && rel.getName(1).toString().equals("data")) continue;
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    dirs.add(p);
                } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    try (FileChannel c = FileChannel.open(p, StandardOpenOption.READ)) {
                        c.force(true);
                    }
                }
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        for (Path d : dirs) forceDirectory(d);
    }

    private static void forceDirectory(Path d) throws IOException {
        try (FileChannel c = FileChannel.open(d, StandardOpenOption.READ)) {
            c.force(true);
        }
    }

    private void writeIndex(Map<String, String> fingerprints) {
        Properties p = new Properties();
        p.putAll(fingerprints);
        Path tmp = index.resolveSibling(index.getFileName() + ".tmp");
        try {
            try (FileChannel c = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING); OutputStream os = Channels.newOutputStream(c)) {
                p.store(os, "bundle/ jars as installed in the bundle cache beside this file (written by septum agent)");
                c.force(true);
            }
            Files.move(tmp, index, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            forceDirectory(index.toAbsolutePath().getParent());
        } catch (IOException e) {
            // the next start empties the cache and installs everything: slower, not wrong
            LOG.warning(() -> "cannot write " + index + " (" + e.getMessage() + "): the next start installs every bundle afresh");
        }
    }

    /**
     * What identifies one jar file's content without reading it: size, modification time, and the change time and
     * inode that any replacement of the file moves (a copy that keeps the modification time still gets new ones).
     */
    static String fingerprint(Path jar) throws IOException {
        Map<String, Object> a = Files.readAttributes(jar, "unix:size,lastModifiedTime,ctime,ino");
        return a.get("size") + "/" + a.get("lastModifiedTime") + "/" + a.get("ctime") + "/" + a.get("ino");
    }

    static boolean isBundle(Path jar) {
        try (JarFile jf = new JarFile(jar.toFile())) {
            return jf.getManifest() != null
                    && jf.getManifest().getMainAttributes().getValue(Constants.BUNDLE_SYMBOLICNAME) != null;
        } catch (IOException e) {
            return false;
        }
    }
}

package io.septum.testsupport;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** File clean-up for tests: temp dirs, state dirs and bpffs pin dirs they created. */
public final class TestFiles {
    private TestFiles() {
    }

    /**
     * Deletes a directory tree, deepest entries first, as far as it can: what cannot be deleted is left, because a
     * test's clean-up must go on to its other resources (namespaces, links, processes). Null or missing: nothing
     * to do. Pinned BPF objects are files in bpffs, so this also unpins a test's maps and programs.
     */
    public static void deleteTree(Path root) {
        if (root == null || !Files.exists(root)) return;
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        } catch (IOException | UncheckedIOException e) {
            // a concurrent removal or an unreadable entry: best effort, as documented
        }
    }
}

package io.septum.policy.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Where the shared corpus lives: {@code septum.corpus.dir} in surefire, else relative to the module. */
final class Corpus {
    private Corpus() {
    }

    static Path dir() {
        String p = System.getProperty("septum.corpus.dir");
        if (p != null && Files.isDirectory(Path.of(p))) return Path.of(p);
        Path fallback = Path.of("../../../shared/corpus");
        if (Files.isDirectory(fallback)) return fallback;
        throw new IllegalStateException("corpus not found: set -Dseptum.corpus.dir (tried " + p + " and " + fallback.toAbsolutePath() + ")");
    }

    static List<Path> files(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Path> ownCases() {
        try {
            java.net.URL u = Corpus.class.getResource("/cases");
            return u == null ? List.of() : files(Path.of(u.toURI()));
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}

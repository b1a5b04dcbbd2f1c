package io.septum.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The policy corpora the tests read: the project's own {@code examples/corpus} (required: {@code septum.corpus.dir},
 * else found walking up from the working directory) and, when present, the shared {@code ../shared/corpus} next to
 * the repository ({@code septum.shared.corpus.dir} overrides it; absent: skipped, said once on stdout). Test names
 * say where a file came from: {@code own/deny-wins.yaml}, {@code shared/deny-wins.yaml}. A clone with no
 * {@code ../shared} beside it tests alone.
 */
public final class TestCorpus {
    /** One corpus file and its test name. */
    public record Entry(String name, Path path) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static boolean sharedMissingSaid;

    private TestCorpus() {
    }

    /** The project's corpus; missing is a failure. */
    public static Path own() {
        String p = System.getProperty("septum.corpus.dir");
        if (p != null && !p.isBlank() && Files.isDirectory(Path.of(p, "cases"))) return Path.of(p).toAbsolutePath().normalize();
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.isDirectory(d.resolve("examples/corpus/cases"))) return d.resolve("examples/corpus");
        }
        throw new IllegalStateException("the project corpus examples/corpus is not found (septum.corpus.dir=" + p
                + ", nor above " + Path.of("").toAbsolutePath() + ")");
    }

    /** The shared corpus, if it is there. */
    public static synchronized Optional<Path> shared() {
        String p = System.getProperty("septum.shared.corpus.dir");
        Path dir = p != null && !p.isBlank() ? Path.of(p) : own().getParent().getParent().resolveSibling("shared/corpus");
        dir = dir.toAbsolutePath().normalize();
        if (Files.isDirectory(dir.resolve("cases"))) return Optional.of(dir);
        if (!sharedMissingSaid) System.out.println("shared corpus not found at " + dir + ": only the project corpus runs");
        sharedMissingSaid = true;
        return Optional.empty();
    }

    /** Every case: the project's, then the shared corpus's. */
    public static List<Entry> cases() {
        return entries("cases");
    }

    /** Every invalid file: the project's, then the shared corpus's. */
    public static List<Entry> invalid() {
        return entries("invalid");
    }

    /** The files of {@code sub} ("cases" or "invalid"): the project's (at least one), then the shared corpus's. */
    public static List<Entry> entries(String sub) {
        List<Entry> out = new ArrayList<>();
        List<Path> own = files(own().resolve(sub));
        if (own.isEmpty()) throw new IllegalStateException("no files in " + own().resolve(sub));
        own.forEach(f -> out.add(new Entry("own/" + f.getFileName(), f)));
        shared().ifPresent(d -> files(d.resolve(sub)).forEach(f -> out.add(new Entry("shared/" + f.getFileName(), f))));
        return out;
    }

    /** The {@code .yaml} files of a directory, sorted; none when it does not exist. */
    public static List<Path> files(Path dir) {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

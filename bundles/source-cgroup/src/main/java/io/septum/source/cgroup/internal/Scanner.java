package io.septum.source.cgroup.internal;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * One pass over the cgroup tree: which directories the rules select, and which directories to watch so that a new
 * match is seen at once (every directory a pattern's last segment is matched in).
 */
final class Scanner {
    /** A selected cgroup: the first rule (by name) that selects it wins. */
    record Match(Rules.Rule rule, String relative, Path path, long cgroupId) {
    }

    record Result(Map<String, Match> matches, Set<Path> watch, List<String> overlaps) {
    }

    private Scanner() {
    }

    static Result scan(Path root, List<Rules.Rule> rules) {
        Map<String, Match> matches = new TreeMap<>();
        Set<Path> watch = new LinkedHashSet<>();
        List<String> overlaps = new ArrayList<>();
        for (Rules.Rule rule : rules) {
            Map<String, Path> found = new LinkedHashMap<>();
            walk(root, root, rule.segments(), 0, found, watch);
            for (Map.Entry<String, Path> e : found.entrySet()) {
                Match had = matches.get(e.getKey());
                if (had != null) {
                    overlaps.add(e.getKey() + " is selected by rules " + had.rule().name() + " and " + rule.name()
                            + "; " + had.rule().name() + " applies");
                    continue;
                }
                long id = inode(e.getValue());
                if (id > 0) matches.put(e.getKey(), new Match(rule, e.getKey(), e.getValue(), id));
            }
        }
        return new Result(matches, watch, overlaps);
    }

    private static void walk(Path root, Path dir, List<String> segs, int i, Map<String, Path> out, Set<Path> watch) {
        String seg = segs.get(i);
        boolean last = i == segs.size() - 1;
        if (last) watch.add(dir);
        List<Path> next = new ArrayList<>();
        if (!isGlob(seg)) {
            Path p = dir.resolve(seg);
            if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) next.add(p);
        } else {
            PathMatcher m = FileSystems.getDefault().getPathMatcher("glob:" + seg);
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
                for (Path p : ds) {
                    if (m.matches(p.getFileName()) && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) next.add(p);
                }
            } catch (IOException e) {
                // gone or unreadable meanwhile: the next scan sees it again
            }
        }
        if (!last && !isGlob(seg) && next.isEmpty()) {
            // a fixed parent that does not exist yet: watch the deepest one that does, to see it appear
            watch.add(dir);
        }
        for (Path p : next) {
            if (last) out.put(root.relativize(p).toString(), p);
            else walk(root, p, segs, i + 1, out, watch);
        }
    }

    static boolean isGlob(String seg) {
        for (char c : seg.toCharArray()) if (c == '*' || c == '?' || c == '[' || c == '{' || c == '\\') return true;
        return false;
    }

    /** The cgroup id: the directory's inode number, what the kernel's bpf_skb_cgroup_id() returns. */
    static long inode(Path p) {
        try {
            return ((Number) Files.getAttribute(p, "unix:ino", LinkOption.NOFOLLOW_LINKS)).longValue();
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /** The endpoint name: the directory's own name, in the characters endpoint names allow. */
    static String endpointName(Path p) {
        String n = p.getFileName().toString().replaceAll("[^A-Za-z0-9._-]", "-");
        n = n.replaceAll("^[^A-Za-z0-9]+", "").replaceAll("[^A-Za-z0-9]+$", "");
        if (n.length() > 253) n = n.substring(0, 253);
        return n.isEmpty() ? "cgroup" : n;
    }
}
